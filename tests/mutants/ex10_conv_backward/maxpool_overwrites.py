# fails: maxpool_backward_overlap, maxpool_backward_2d_pair
# names: overlap_overwritten
# The gradient assigned (=) to the window's maximum instead of added (+=): where windows overlap
# and share their maximum, only the last window's gradient is left. Right without overlaps.
def max_pool2d_backward(dout, x, pool_size=2, stride=None):
    x = np.asarray(x, dtype=float)
    dout = np.asarray(dout, dtype=float)
    kh, kw = _pair(pool_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    flat = x.ndim == 2
    if flat:
        x, dout = x[:, :, None], dout[:, :, None]
    dx = np.zeros_like(x)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            for c in range(x.shape[2]):
                window = x[i * sh:i * sh + kh, j * sw:j * sw + kw, c]
                u, v = np.unravel_index(np.argmax(window), window.shape)
                dx[i * sh + u, j * sw + v, c] = dout[i, j, c]
    return dx[:, :, 0] if flat else dx
