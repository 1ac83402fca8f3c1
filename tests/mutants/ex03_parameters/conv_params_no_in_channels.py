# fails: conv2d_params_int, conv2d_params_pair, conv2d_params_no_bias
# names: no_in_channels
# Forgets that each filter spans every input channel: kh * kw * filters (+ bias). Right only
# when the input has one channel. summarize passes (judged with the grader's conv2d_params too).
def conv2d_params(kernel_size, in_channels, filters, use_bias=True):
    kh, kw = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else kernel_size
    return kh * kw * filters + (filters if use_bias else 0)
