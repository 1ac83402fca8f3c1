# fails: summarize_course_cnn, conv_output_size_fixed
# may fail: conv_output_size_valid_strided, summarize_random_a, summarize_random_b
# ceil instead of floor for 'valid': a window that hangs over the edge is counted. Its own
# summarize (which uses it for convolutions and max pooling) inherits the bug.
import math


def conv_output_size(n, kernel_size, stride=1, padding="valid"):
    if padding == "same":
        return math.ceil(n / stride)
    return math.ceil((n - kernel_size) / stride) + 1
