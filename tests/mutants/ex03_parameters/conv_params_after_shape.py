# fails: summarize_course_cnn_params, summarize_random_a_params, summarize_random_b_params, summarize_dense_on_feature_map_params
# names: conv_in_channels_are_filters
# The parameters of a Conv2D layer computed after the shape was updated, so in_channels is
# read as the layer's own filter count.
def summarize(layers, input_shape):
    shape = tuple(input_shape)
    rows = []
    for layer in layers:
        kind = layer[0]
        params = 0
        if kind == "conv2d":
            filters, k = layer[1], layer[2]
            stride = layer[3] if len(layer) > 3 else 1
            padding = layer[4] if len(layer) > 4 else "valid"
            shape = (conv_output_size(shape[0], k, stride, padding),
                     conv_output_size(shape[1], k, stride, padding), filters)
            params = conv2d_params(k, shape[2], filters)
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
