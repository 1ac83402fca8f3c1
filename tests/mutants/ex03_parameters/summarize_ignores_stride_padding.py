# fails: summarize_random_a_shapes, summarize_random_b_shapes, summarize_dense_on_feature_map_shapes
# names: conv_stride_padding_ignored
# Conv2D layers are summarized as stride 1, 'valid' whatever the tuple says: the stride and
# padding items are never read.
def summarize(layers, input_shape):
    shape = tuple(input_shape)
    rows = []
    for layer in layers:
        kind = layer[0]
        params = 0
        if kind == "conv2d":
            filters, k = layer[1], layer[2]
            params = conv2d_params(k, shape[2], filters)
            shape = (shape[0] - k + 1, shape[1] - k + 1, filters)
        elif kind == "maxpool2d":
            p = layer[1]
            shape = (shape[0] // p, shape[1] // p, shape[2])
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "dense":
            params = dense_params(shape[-1], layer[1])
            shape = shape[:-1] + (layer[1],)
        elif kind == "batchnorm":
            params = 4 * shape[-1]
        rows.append((shape, params))
    return rows
