# fails: conv2d_same_odd_kernel, conv2d_same_even_kernel, conv2d_same_stride2, conv2d_same_stride_pair, sobel_edges
# names: same_all_after
# 'same' padding written as Keras' own NumPy test oracles write it: the whole total padding
# after the image (bottom/right). The output has the right shape; wherever the total is 2 or
# more the windows start a pixel early relative to TensorFlow's split (smaller half first).
def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    flat = x.ndim == 2
    if flat:
        x, kernel = x[:, :, None], kernel[:, :, None, None]
    kh, kw, _, c_out = kernel.shape
    if padding == "same":
        H, W = x.shape[:2]
        pad_h = max((-(-H // sh) - 1) * sh + kh - H, 0)
        pad_w = max((-(-W // sw) - 1) * sw + kw - W, 0)
        x = np.pad(x, ((0, pad_h), (0, pad_w), (0, 0)))
    H, W = x.shape[:2]
    out_h, out_w = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((out_h, out_w, c_out))
    for i in range(out_h):
        for j in range(out_w):
            window = x[i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            out[i, j] = np.tensordot(window, kernel, axes=3)
    if bias is not None:
        out = out + bias
    return out[:, :, 0] if flat else out
