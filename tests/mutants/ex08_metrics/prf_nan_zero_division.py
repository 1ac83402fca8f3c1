# fails: prf_zero_division
# names: nan_zero_division
# Plain division: a class never predicted (or never present) gets NaN, where scikit-learn's
# zero_division=0 gives 0.0.
def precision_recall_f1(y_true, y_pred, num_classes):
    m = confusion_matrix(y_true, y_pred, num_classes).astype(float)
    tp = np.diag(m)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = tp / m.sum(axis=0)
        recall = tp / m.sum(axis=1)
        f1 = 2 * precision * recall / (precision + recall)
    return precision, recall, f1
