# fails: numgrad_vector, numgrad_3d, numgrad_leaves_x
# names: x_not_restored
# Central differences computed by perturbing the caller's x in place, never putting each entry
# back: x is left changed (every entry eps lower), and each later entry's differences start from
# an x already shifted by the earlier ones.
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x, dtype=float)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = f(x)
        x[idx] = old - eps
        f_minus = f(x)
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad
