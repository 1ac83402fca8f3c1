# fails: dense_params
# names: no_bias
# in_features * units only: the biases are forgotten (use_bias is ignored). summarize passes
# (judged with the grader's dense_params too).
def dense_params(in_features, units, use_bias=True):
    return in_features * units
