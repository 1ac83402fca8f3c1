# fails: zero_pad_pair_3d, zero_pad_int_3d
# names: channels_padded
# np.pad(x, pad) pads *every* axis, the channel axis included, and reads a pair (ph, pw) as
# (before, after) rather than (rows, columns). Right by accident for an int on a 2-D image.
def zero_pad(x, pad):
    return np.pad(np.asarray(x), pad)
