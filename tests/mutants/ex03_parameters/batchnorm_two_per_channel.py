# fails: summarize_random_a_params, summarize_random_b_params, summarize_dense_on_feature_map_params
# names: batchnorm_two_per_channel
# Counts only gamma and beta for BatchNormalization (2 * C); Keras also counts the moving mean
# and variance (4 * C, of which 2 * C are non-trainable). Every random stack has a
# BatchNormalization layer.
_solution_summarize = summarize


def summarize(layers, input_shape):
    rows = _solution_summarize(layers, input_shape)
    return [(shape, params // 2 if layer[0] == "batchnorm" else params)
            for layer, (shape, params) in zip(layers, rows)]
