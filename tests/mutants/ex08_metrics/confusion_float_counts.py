# fails: confusion_integer_dtype
# np.zeros((k, k)) without a dtype: the counts are right but stored as floats.
def confusion_matrix(y_true, y_pred, num_classes):
    matrix = np.zeros((num_classes, num_classes))
    for t, p in zip(y_true, y_pred):
        matrix[t, p] += 1
    return matrix
