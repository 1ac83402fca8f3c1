# fails: max_pool_3d_pool3, max_pool_valid_uneven, max_pool_overlap, max_pool_same, max_pool_same_negative, max_pool_pair, max_pool_same_wide
# names: max_over_channels
# window.max() without an axis takes the maximum over the channels as well, so every channel
# of a 3-D input gets the same value. Right for 2-D inputs only.
def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    x = np.asarray(x, dtype=float)
    kh, kw = (pool_size, pool_size) if np.ndim(pool_size) == 0 else pool_size
    if stride is None:
        stride = (kh, kw)
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    H, W = x.shape[:2]
    if padding == "same":
        out_h, out_w = -(-H // sh), -(-W // sw)
        ph = max((out_h - 1) * sh + kh - H, 0)
        pw = max((out_w - 1) * sw + kw - W, 0)
        widths = [(ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)] + [(0, 0)] * (x.ndim - 2)
        x = np.pad(x, widths, constant_values=-np.inf)
    else:
        out_h, out_w = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((out_h, out_w) + x.shape[2:])
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = x[i * sh:i * sh + kh, j * sw:j * sw + kw].max()
    return out
