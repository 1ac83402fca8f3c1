# fails: sobel_edges
# names: abs_sum
# |gx| + |gy|, the cheap approximation of the gradient magnitude, instead of sqrt(gx² + gy²).
def sobel_edges(image):
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    gx = conv2d(image, kx, padding="same")
    gy = conv2d(image, kx.T, padding="same")
    return np.abs(gx) + np.abs(gy)
