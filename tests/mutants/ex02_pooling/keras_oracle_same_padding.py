# fails: max_pool_same_wide, avg_pool_same
# names: same_all_after
# 'same' pooling written as Keras' own NumPy test oracles write it (np_maxpool2d pads with -inf,
# np_avgpool2d with NaN and takes nanmean): the whole total padding after the image. With a
# total of 1 that is TensorFlow's split; the pool-3 'same' checks pad 2 on the rows.
def _keras_oracle_padded(x, kh, kw, sh, sw, fill):
    H, W = x.shape[:2]
    ph = max((-(-H // sh) - 1) * sh + kh - H, 0)
    pw = max((-(-W // sw) - 1) * sw + kw - W, 0)
    return np.pad(x, ((0, ph), (0, pw), (0, 0)), constant_values=fill)


def _pool(x, pool_size, stride, padding, reduce, fill):
    x = np.asarray(x, dtype=float)
    kh, kw = (pool_size, pool_size) if np.ndim(pool_size) == 0 else pool_size
    if stride is None:
        stride = (kh, kw)
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    flat = x.ndim == 2
    if flat:
        x = x[:, :, None]
    if padding == "same":
        x = _keras_oracle_padded(x, kh, kw, sh, sw, fill)
    H, W, C = x.shape
    out_h, out_w = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((out_h, out_w, C))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = reduce(x[i * sh:i * sh + kh, j * sw:j * sw + kw], axis=(0, 1))
    return out[:, :, 0] if flat else out


def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    return _pool(x, pool_size, stride, padding, np.max, -np.inf)


def avg_pool2d(x, pool_size=2, stride=None, padding="valid"):
    return _pool(x, pool_size, stride, padding, np.nanmean, np.nan)
