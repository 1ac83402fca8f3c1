# fails: global_avg_pool
# names: over_channels
# Averages over the channel axis instead of the spatial axes: an (H, W) map instead of (C,).
def global_avg_pool(x):
    return np.asarray(x).mean(axis=-1)
