# fails: zero_pad_pair_3d
# names: pair_swapped
# A pair (ph, pw) read the other way round: pw rows at the top and bottom, ph columns left and
# right. An int pads the same on both axes, so only the pair check can tell.
def zero_pad(x, pad):
    x = np.asarray(x)
    pw, ph = (pad, pad) if np.ndim(pad) == 0 else pad
    widths = [(ph, ph), (pw, pw)] + [(0, 0)] * (x.ndim - 2)
    return np.pad(x, widths)
