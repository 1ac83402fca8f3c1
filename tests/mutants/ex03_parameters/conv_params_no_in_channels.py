# fails: conv2d_params_int, conv2d_params_pair, conv2d_params_no_bias, summarize_course_cnn, summarize_dense_on_feature_map
# may fail: summarize_random_a, summarize_random_b
# Forgets that each filter spans every input channel: kh * kw * filters (+ bias). Right only
# when the input has one channel.
def conv2d_params(kernel_size, in_channels, filters, use_bias=True):
    kh, kw = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else kernel_size
    return kh * kw * filters + (filters if use_bias else 0)
