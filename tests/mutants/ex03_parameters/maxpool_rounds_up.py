# fails: summarize_course_cnn_shapes, summarize_random_a_shapes, summarize_random_b_shapes
# names: pool_rounds_up
# Max pooling that rounds up (ceil(n / p)), as if a window hanging over the edge were kept;
# Keras' MaxPooling2D uses 'valid' padding: floor. Only odd sizes show it (11 → 6, not 5).
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
            shape = (-(-shape[0] // p), -(-shape[1] // p), shape[2])
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "dense":
            params = dense_params(shape[-1], layer[1])
            shape = shape[:-1] + (layer[1],)
        elif kind == "batchnorm":
            params = 4 * shape[-1]
        rows.append((shape, params))
    return rows
