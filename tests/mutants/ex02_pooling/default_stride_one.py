# fails: max_pool_2d_default, max_pool_3d_pool3, max_pool_valid_uneven, max_pool_same_negative
# names: default_stride_one
# stride=None read as a stride of 1 (the windows slide one cell at a time) instead of the pool
# size. A stride given explicitly is used as it should be.
_solution_max_pool2d = max_pool2d


def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    return _solution_max_pool2d(x, pool_size, 1 if stride is None else stride, padding)
