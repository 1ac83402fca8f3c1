# fails: conv2d_valid_2d, conv2d_valid_even_kernel, conv2d_multichannel_bias, conv2d_multichannel_no_bias, conv2d_same_odd_kernel, conv2d_same_even_kernel, conv2d_valid_stride2, conv2d_same_stride2, conv2d_valid_stride3_2d, conv2d_same_stride_pair, sobel_edges
# The right convolution returned in float16 (to save memory): every value is right to about
# three digits only. No catalogued mistake gives it; the message says the dtype and the hint
# is about precision, not about padding or flipping.
_right_conv2d = conv2d


def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    return _right_conv2d(x, kernel, bias=bias, stride=stride, padding=padding).astype(np.float16)
