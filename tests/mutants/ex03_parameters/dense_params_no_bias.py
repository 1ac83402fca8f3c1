# fails: dense_params, summarize_course_cnn, summarize_dense_on_feature_map, summarize_random_a, summarize_random_b
# in_features * units only: the biases are forgotten (use_bias is ignored).
def dense_params(in_features, units, use_bias=True):
    return in_features * units
