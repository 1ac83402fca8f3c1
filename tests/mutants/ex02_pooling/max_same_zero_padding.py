# fails: max_pool_same, max_pool_same_negative, max_pool_same_wide
# names: zero_padding
# 'same' max pooling that pads with zeros instead of -inf: wherever every real cell of an edge
# window is negative, the padded zero wins the max. Both 'same' checks have such a window at
# every seed (all-negative input; a corner window whose one real cell is made negative).
def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
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
            out[i, j] = x[i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(0, 1))
    return out[:, :, 0] if flat else out
