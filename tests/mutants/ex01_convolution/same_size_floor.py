# fails: conv2d_same_stride2, conv2d_same_stride_pair
# names: same_floor
# The 'same' output size as floor(n / stride) instead of ceil(n / stride): with a stride that
# does not divide the input the last row or column of outputs is missing.
def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    flat = x.ndim == 2
    if flat:
        x, kernel = x[:, :, None], kernel[:, :, None, None]
    kh, kw, _, c_out = kernel.shape
    H, W = x.shape[:2]
    if padding == "same":
        out_h, out_w = H // sh, W // sw
        pad_h = max((out_h - 1) * sh + kh - H, 0)
        pad_w = max((out_w - 1) * sw + kw - W, 0)
        x = np.pad(x, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    else:
        out_h, out_w = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((out_h, out_w, c_out))
    for i in range(out_h):
        for j in range(out_w):
            window = x[i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            out[i, j] = np.tensordot(window, kernel, axes=3)
    if bias is not None:
        out = out + bias
    return out[:, :, 0] if flat else out
