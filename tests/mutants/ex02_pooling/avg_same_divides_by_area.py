# fails: avg_pool_same
# names: divides_by_area
# 'same' average pooling that divides every window by pool_size**2, so the padded zeros drag
# the edge averages towards 0 (Keras divides by the number of real cells).
def avg_pool2d(x, pool_size=2, stride=None, padding="valid"):
    x = np.asarray(x, dtype=float)
    kh, kw = (pool_size, pool_size) if np.ndim(pool_size) == 0 else pool_size
    if stride is None:
        stride = (kh, kw)
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    flat = x.ndim == 2
    if flat:
        x = x[:, :, None]
    H, W, C = x.shape
    if padding == "same":
        out_h, out_w = -(-H // sh), -(-W // sw)
        ph = max((out_h - 1) * sh + kh - H, 0)
        pw = max((out_w - 1) * sw + kw - W, 0)
        x = np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        out_h, out_w = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((out_h, out_w, C))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = x[i * sh:i * sh + kh, j * sw:j * sw + kw].sum(axis=(0, 1)) / (kh * kw)
    return out[:, :, 0] if flat else out
