# fails: conv_output_size_fixed
# may fail: conv_output_size_valid_strided, summarize_random_a, summarize_random_b
# round() instead of floor for 'valid': (n - k) / s + 1 rounded to the nearest integer (and
# Python rounds halves to even), so some strided sizes come out one too large.
def conv_output_size(n, kernel_size, stride=1, padding="valid"):
    if padding == "same":
        return -(-n // stride)
    return round((n - kernel_size) / stride) + 1
