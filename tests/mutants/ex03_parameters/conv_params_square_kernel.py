# fails: conv2d_params_pair
# names: square_kernel
# A kernel_size pair (kh, kw) read as a square kh × kh kernel.
def conv2d_params(kernel_size, in_channels, filters, use_bias=True):
    k = kernel_size if np.ndim(kernel_size) == 0 else kernel_size[0]
    return (k * k * in_channels + (1 if use_bias else 0)) * filters
