# fails: sobel_edges
# names: no_sqrt
# gx ** 2 + gy ** 2 without the square root: the squared gradient magnitude.
def sobel_edges(image):
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    gx = conv2d(image, kx, padding="same")
    gy = conv2d(image, kx.T, padding="same")
    return gx ** 2 + gy ** 2
