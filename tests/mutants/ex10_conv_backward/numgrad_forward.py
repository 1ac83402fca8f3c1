# fails: numgrad_vector, numgrad_3d
# names: forward_difference
# One-sided (forward) differences (f(x + eps·e_i) - f(x)) / eps: off by about eps/2 times the
# second derivative, far more than central differences' O(eps²). x is left unchanged.
def numerical_gradient(f, x, eps=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    f_x = f(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        grad[idx] = (f(x) - f_x) / eps
        x[idx] = old
    return grad
