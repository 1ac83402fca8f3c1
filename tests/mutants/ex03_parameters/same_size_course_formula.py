# fails: conv_output_size_same, conv_output_size_same_strided
# names: same_course_formula
# 'same' as the course formula floor((n + 2p - k) / s) + 1 with p = (k - 1) // 2: right for odd
# kernels, one too small for even ones (at stride 1, or when the stride does not divide n).
def conv_output_size(n, kernel_size, stride=1, padding="valid"):
    p = (kernel_size - 1) // 2 if padding == "same" else 0
    return (n + 2 * p - kernel_size) // stride + 1
