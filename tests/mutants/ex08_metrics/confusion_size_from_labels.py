# fails: confusion_unused_classes
# names: size_from_labels
# The size taken from the labels (max + 1) instead of num_classes: a class that never occurs
# and is never predicted at the end of the range is dropped.
def confusion_matrix(y_true, y_pred, num_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = int(max(y_true.max(), y_pred.max())) + 1
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix
