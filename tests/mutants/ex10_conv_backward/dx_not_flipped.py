# fails: conv_valid_dx, conv_stride_dx, conv_same_dx, conv_same_stride1_dx
# names: dx_kernel_not_flipped
# dx written as a convolution of the (dilated, fully padded) dout with the kernel's channels
# transposed but the kernel NOT flipped in its spatial axes. dkernel and dbias are right.
_solution_conv2d_backward = conv2d_backward


def conv2d_backward(dout, x, kernel, stride=1, padding="valid"):
    _, dkernel, dbias = _solution_conv2d_backward(dout, x, kernel, stride, padding)
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    dout = np.asarray(dout, dtype=float)
    kh, kw, c_in, c_out = kernel.shape
    sh, sw = _pair(stride)
    H, W = x.shape[:2]
    if padding == "same":
        (top, bottom), (left, right) = same_padding(H, kh, sh), same_padding(W, kw, sw)
    else:
        top = bottom = left = right = 0
    out_h, out_w = dout.shape[:2]
    # dout spread out by the stride, then "full" padding: kh - 1 zeros on each side
    dilated = np.zeros(((out_h - 1) * sh + 1, (out_w - 1) * sw + 1, c_out))
    dilated[::sh, ::sw] = dout
    full = np.pad(dilated, ((kh - 1, kh - 1), (kw - 1, kw - 1), (0, 0)))
    dxp = conv2d(full, kernel.transpose(0, 1, 3, 2))
    # rows and columns of the padded x after the last window get no gradient
    dxp = np.pad(dxp, ((0, H + top + bottom - dxp.shape[0]), (0, W + left + right - dxp.shape[1]),
                       (0, 0)))
    return dxp[top:top + H, left:left + W], dkernel, dbias
