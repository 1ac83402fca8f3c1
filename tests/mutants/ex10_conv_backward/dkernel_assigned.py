# fails: conv_valid_dkernel, conv_stride_dkernel, conv_same_dkernel
# names: dkernel_last_position
# The kernel gradient assigned (=) in the loop over output positions instead of added (+=):
# only the last position's window x dout is left. dx and dbias are right.
def conv2d_backward(dout, x, kernel, stride=1, padding="valid"):
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
    xp = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    dxp = np.zeros_like(xp)
    dkernel = np.zeros_like(kernel)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            rows = slice(i * sh, i * sh + kh)
            cols = slice(j * sw, j * sw + kw)
            dkernel = xp[rows, cols, :, None] * dout[i, j]
            dxp[rows, cols] += kernel @ dout[i, j]
    dbias = dout.sum(axis=(0, 1))
    return dxp[top:top + H, left:left + W], dkernel, dbias
