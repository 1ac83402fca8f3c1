# fails: conv2d_valid_stride2, conv2d_same_stride2, conv2d_valid_stride3_2d, conv2d_same_stride_pair
# names: stride_ignored
# The stride argument is accepted but never used: the window always moves one pixel.
def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    flat = x.ndim == 2
    if flat:
        x, kernel = x[:, :, None], kernel[:, :, None, None]
    kh, kw, _, c_out = kernel.shape
    if padding == "same":
        ph, pw = kh - 1, kw - 1
        x = np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    H, W = x.shape[:2]
    out = np.zeros((H - kh + 1, W - kw + 1, c_out))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = x[i:i + kh, j:j + kw, :]
            out[i, j] = np.tensordot(window, kernel, axes=3)
    if bias is not None:
        out += bias
    return out[:, :, 0] if flat else out
