# fails: conv2d_multichannel_bias, conv2d_multichannel_no_bias, conv2d_same_odd_kernel, conv2d_same_even_kernel, conv2d_valid_stride2, conv2d_same_stride2, conv2d_same_stride_pair
# A conv2d written for grayscale images only: on an (H, W, C) input the unpacking of the shape
# raises ValueError, which the student sees with its message.
def conv2d(x, kernel, bias=None, stride=1, padding="valid"):
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    H, W = x.shape
    kh, kw = kernel.shape
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    if padding == "same":
        out_h, out_w = -(-H // sh), -(-W // sw)
        ph = max((out_h - 1) * sh + kh - H, 0)
        pw = max((out_w - 1) * sw + kw - W, 0)
        x = np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
    else:
        out_h, out_w = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = np.sum(x[i * sh:i * sh + kh, j * sw:j * sw + kw] * kernel)
    if bias is not None:
        out = out + bias
    return out
