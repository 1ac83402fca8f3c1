# fails: conv2d_valid_2d, conv2d_valid_even_kernel, conv2d_multichannel_bias, conv2d_multichannel_no_bias, conv2d_same_odd_kernel, conv2d_same_even_kernel, conv2d_valid_stride2, conv2d_same_stride2, conv2d_valid_stride3_2d, conv2d_same_stride_pair
# names: flipped_kernel
# A true convolution (the textbook definition) instead of Keras's cross-correlation: the kernel
# is flipped. sobel_edges still passes: flipping a Sobel kernel only changes the sign of gx and
# gy, and the magnitude squares it away.
_solution_conv2d = conv2d


def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    kernel = np.asarray(kernel, dtype=float)
    flipped = kernel[::-1, ::-1]
    return _solution_conv2d(x, flipped, bias=bias, stride=stride, padding=padding)
