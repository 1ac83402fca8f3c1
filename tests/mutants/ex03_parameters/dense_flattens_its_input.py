# fails: summarize_dense_on_feature_map_shapes, summarize_dense_on_feature_map_params
# names: dense_flattens_input
# Dense treated as if it flattened its input first: on a 3-D feature map the shape becomes
# (units,) and the weights count H * W * C inputs. Keras applies Dense to the last axis.
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
            shape = (int(np.prod(shape)),)
        elif kind == "dense":
            params = dense_params(int(np.prod(shape)), layer[1])
            shape = (layer[1],)
        elif kind == "batchnorm":
            params = 4 * shape[-1]
        rows.append((shape, params))
    return rows
