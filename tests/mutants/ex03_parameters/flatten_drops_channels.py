# fails: summarize_course_cnn_shapes, summarize_random_a_shapes, summarize_random_b_shapes
# names: flatten_drops_channels
# Flatten multiplies height by width and forgets the channels. Only the shapes checks fail: the
# parameters are judged against the shapes the summary itself gives (error carried forward).
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
            params = conv2d_params(k, shape[2], filters)
            shape = (conv_output_size(shape[0], k, stride, padding),
                     conv_output_size(shape[1], k, stride, padding), filters)
        elif kind == "maxpool2d":
            p = layer[1]
            shape = (shape[0] // p, shape[1] // p, shape[2])
        elif kind == "flatten":
            shape = (shape[0] * shape[1],)
        elif kind == "dense":
            params = dense_params(shape[-1], layer[1])
            shape = shape[:-1] + (layer[1],)
        elif kind == "batchnorm":
            params = 4 * shape[-1]
        rows.append((shape, params))
    return rows
