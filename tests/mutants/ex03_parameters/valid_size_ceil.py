# fails: conv_output_size_valid_strided, conv_output_size_fixed
# names: valid_ceil
# ceil instead of floor for 'valid': a window that hangs over the edge is counted. Its own
# summarize (which uses it for convolutions and max pooling) is judged with the grader's
# conv_output_size too, and passes.
import math


def conv_output_size(n, kernel_size, stride=1, padding="valid"):
    if padding == "same":
        return math.ceil(n / stride)
    return math.ceil((n - kernel_size) / stride) + 1
