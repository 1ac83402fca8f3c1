# fails: confusion_small, confusion_random, confusion_unused_classes
# names: transposed
# Rows indexed by the predicted class and columns by the true class: the transpose. Its own
# precision_recall_f1, which reads the matrix, would swap precision and recall; it is judged
# with the grader's confusion_matrix too, and passes.
def confusion_matrix(y_true, y_pred, num_classes):
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_pred), np.asarray(y_true)), 1)
    return matrix
