# fails: max_pool_overlap, max_pool_pair, avg_pool_overlap, avg_pool_same, max_pool_same_wide
# names: stride_ignored
# Both poolings ignore the stride argument and always step by pool_size, so overlapping
# windows are never produced. Checks where stride equals pool_size (or is None) still pass.
_solution_max_pool2d = max_pool2d
_solution_avg_pool2d = avg_pool2d


def max_pool2d(x, pool_size=2, stride=None, padding="valid"):
    return _solution_max_pool2d(x, pool_size, pool_size, padding)


def avg_pool2d(x, pool_size=2, stride=None, padding="valid"):
    return _solution_avg_pool2d(x, pool_size, pool_size, padding)
