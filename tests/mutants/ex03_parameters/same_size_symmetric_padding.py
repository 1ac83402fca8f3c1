# fails: conv_output_size_same, conv_output_size_same_strided
# names: same_symmetric_padding
# 'same' computed through the padding, split evenly: p = total // 2 on each side, then the
# 'valid' formula on n + 2p. When the total padding is odd one pixel is lost.
def conv_output_size(n, kernel_size, stride=1, padding="valid"):
    if padding == "same":
        out = -(-n // stride)
        total = max((out - 1) * stride + kernel_size - n, 0)
        p = total // 2
        return (n + 2 * p - kernel_size) // stride + 1
    return (n - kernel_size) // stride + 1
