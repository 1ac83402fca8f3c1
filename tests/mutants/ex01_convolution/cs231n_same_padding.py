# fails: conv2d_same_even_kernel, conv2d_same_stride2, conv2d_same_stride_pair
# names: same_course_padding
# 'same' as the CS231n and deeplearning.ai assignments pad for it: p = (k - 1) // 2 zeros on
# every side, then the output floor((n + 2p - k) / s) + 1. Right for odd kernels at stride 1;
# an even kernel loses a row and a column, and a stride shifts the windows or the size.
def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    flat = x.ndim == 2
    if flat:
        x, kernel = x[:, :, None], kernel[:, :, None, None]
    kh, kw, _, c_out = kernel.shape
    if padding == "same":
        ph, pw = (kh - 1) // 2, (kw - 1) // 2
        x = np.pad(x, ((ph, ph), (pw, pw), (0, 0)))
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
