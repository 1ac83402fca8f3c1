# fails: global_avg_pool
# names: keepdims
# keepdims=True returns shape (1, 1, C) where (C,) is expected (the values are right).
def global_avg_pool(x):
    return np.mean(x, axis=(0, 1), keepdims=True)
