# fails: conv_output_size_same_strided
# names: same_floor
# floor instead of ceil for 'same': n // stride, one too small whenever the stride does not
# divide n. (The example: 10.0, 9.5, 8.5, 8.0 or 7.0 depending on the seed.)
def conv_output_size(n, kernel_size, stride=1, padding="valid"):
    if padding == "same":
        return n // stride
    return (n - kernel_size) // stride + 1
