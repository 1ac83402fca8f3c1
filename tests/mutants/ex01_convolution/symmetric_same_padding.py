# fails: conv2d_same_even_kernel, conv2d_same_stride2, conv2d_same_stride_pair
# names: symmetric_same_split
# 'same' padding split evenly, total // 2 on both sides: when the total is odd (an even kernel,
# or a stride that does not divide the input) one row or column is lost and the output is too
# small. Odd kernels with stride 1 (and sobel_edges) still pass.
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
        x = np.pad(x, ((pad_h // 2, pad_h // 2), (pad_w // 2, pad_w // 2), (0, 0)))
    H, W = x.shape[:2]
    out_h, out_w = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((out_h, out_w, c_out))
    for i in range(out_h):
        for j in range(out_w):
            window = x[i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            for o in range(c_out):
                out[i, j, o] = np.sum(window * kernel[:, :, :, o])
    if bias is not None:
        out = out + bias
    return out[:, :, 0] if flat else out
