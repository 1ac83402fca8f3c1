# fails: prf_random, prf_zero_division, prf_small
# names: f1_arithmetic_mean
# F1 as the arithmetic mean (P + R) / 2 instead of the harmonic mean 2PR / (P + R).
_solution_prf = precision_recall_f1


def precision_recall_f1(y_true, y_pred, num_classes):
    precision, recall, _ = _solution_prf(y_true, y_pred, num_classes)
    return precision, recall, (precision + recall) / 2
