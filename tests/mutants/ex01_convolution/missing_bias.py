# fails: conv2d_multichannel_bias, conv2d_same_odd_kernel, conv2d_same_stride_pair
# names: bias_missing
# The bias argument is accepted but never added.
_solution_conv2d = conv2d


def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    return _solution_conv2d(x, kernel, stride=stride, padding=padding)
