# fails: conv2d_params_int, conv2d_params_pair
# names: no_bias
# Forgets the bias of each filter (use_bias is ignored). summarize, which calls it, is judged
# with the grader's conv2d_params too, and passes: one mistake, one deduction (1 point, not 6.5).
def conv2d_params(kernel_size, in_channels, filters, use_bias=True):
    kh, kw = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else kernel_size
    return kh * kw * in_channels * filters
