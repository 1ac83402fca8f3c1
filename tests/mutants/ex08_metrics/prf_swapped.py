# fails: prf_random, prf_zero_division, prf_small
# names: precision_recall_swapped
# Precision from the rows (true class) and recall from the columns (predicted class): the two
# are swapped. F1 is symmetric and comes out right.
_solution_prf = precision_recall_f1


def precision_recall_f1(y_true, y_pred, num_classes):
    precision, recall, f1 = _solution_prf(y_true, y_pred, num_classes)
    return recall, precision, f1
