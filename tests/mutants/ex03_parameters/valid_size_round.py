# fails: conv_output_size_valid_strided, conv_output_size_fixed
# names: valid_round
# round() instead of floor for 'valid': (n - k) / s + 1 rounded to the nearest integer (and
# Python rounds halves to even), so some strided sizes come out one too large. The strided
# check's inputs always have a remainder that round() gets wrong (2 of 3, or half of an odd).
def conv_output_size(n, kernel_size, stride=1, padding="valid"):
    if padding == "same":
        return -(-n // stride)
    return round((n - kernel_size) / stride) + 1
