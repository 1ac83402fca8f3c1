# fails: maxpool_backward_default, maxpool_backward_overlap, maxpool_backward_2d_pair
# names: whole_window
# Every cell of the window gets the window's upstream gradient, as for a sum (or as if the
# maximum were found and then not used).
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
                dx[i * sh:i * sh + kh, j * sw:j * sw + kw, c] += dout[i, j, c]
    return dx[:, :, 0] if flat else dx
