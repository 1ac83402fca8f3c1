# fails: sobel_edges
# names: valid_padding
# The Sobel filters are applied with padding='valid': the edge map loses a pixel on every side.
def sobel_edges(image):
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    gx = conv2d(image, kx)
    gy = conv2d(image, kx.T)
    return np.sqrt(gx ** 2 + gy ** 2)
