# fails: conv2d_params_int, conv2d_params_pair, summarize_course_cnn, summarize_dense_on_feature_map, summarize_random_a, summarize_random_b
# Forgets the bias of each filter (use_bias is ignored); summarize, which calls it, too.
def conv2d_params(kernel_size, in_channels, filters, use_bias=True):
    kh, kw = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else kernel_size
    return kh * kw * in_channels * filters
