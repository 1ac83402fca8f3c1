# fails: conv_stride_dx, conv_stride_dkernel, conv_same_dx, conv_same_dkernel
# names: stride_ignored
# The stride ignored in the backward loop: output (i, j) is sent back to the window at (i, j)
# instead of (i * sh, j * sw). The 'same' padding is still computed with the stride.
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
            rows = slice(i, i + kh)
            cols = slice(j, j + kw)
            dkernel += xp[rows, cols, :, None] * dout[i, j]
            dxp[rows, cols] += kernel @ dout[i, j]
    dbias = dout.sum(axis=(0, 1))
    return dxp[top:top + H, left:left + W], dkernel, dbias
