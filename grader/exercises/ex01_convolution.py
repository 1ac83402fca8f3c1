"""Checks for ex01: zero padding, 2-D convolution (Keras semantics) and Sobel edges."""

from __future__ import annotations

from grader.checks.core import Call, Exercise, standard_normal
from grader.execution.kernel import Limits

exercise = Exercise("ex01_convolution", title="Convolution by hand",
                    limits=Limits(cell_timeout=30, notebook_timeout=300, probe_timeout=10))
ex = exercise


IMG_5x4 = ex.input("image", standard_normal(5, 4))
X_4x5x3 = ex.input("x", standard_normal(4, 5, 3))
IMG_7 = ex.input("image", standard_normal(7, 7))
K_3 = ex.input("kernel", standard_normal(3, 3))
IMG_8x6 = ex.input("image", standard_normal(8, 6))
K_2x4 = ex.input("kernel", standard_normal(2, 4))
IMG_10 = ex.input("image", standard_normal(10, 10))
X_7x7x3 = ex.input("x", standard_normal(7, 7, 3))
K_3x3x3x4 = ex.input("kernel", standard_normal(3, 3, 3, 4))
B_4 = ex.input("bias", standard_normal(4))
X_6x6x2 = ex.input("x", standard_normal(6, 6, 2))
K_4x4x2x3 = ex.input("kernel", standard_normal(4, 4, 2, 3))
X_9x9x3 = ex.input("x", standard_normal(9, 9, 3))
X_8x8x3 = ex.input("x", standard_normal(8, 8, 3))
X_10x11x2 = ex.input("x", standard_normal(10, 11, 2))
K_3x2x2x2 = ex.input("kernel", standard_normal(3, 2, 2, 2))
B_2 = ex.input("bias", standard_normal(2))
PHOTO = ex.input("image", lambda rng: rng.uniform(0.0, 1.0, (12, 10)))

PAD_HINT = "Zeros go on both sides of the two spatial axes only; a channel axis is left alone."
VALID_HINT = ("With padding='valid' the output has n - k + 1 positions per axis (stride 1). "
              "Keras does not flip the kernel: it computes a cross-correlation.")
SAME_HINT = ("With padding='same' the output size is ceil(n / stride). The total padding is "
             "max((out - 1) * stride + k - n, 0); TensorFlow puts the smaller half on the top/left "
             "and the extra row or column on the bottom/right.")
STRIDE_HINT = "Move the window `stride` positions at a time; a pair gives (rows, columns)."
CHANNEL_HINT = ("Each output channel sums over all input channels: "
                "out[i, j, o] = sum(window * kernel[:, :, :, o]) + bias[o].")

ex.compare("zero_pad_int_2d", points=0.5, call=Call("zero_pad", IMG_5x4, 2), hint=PAD_HINT,
           title="zero_pad with an int on a 2-D image")
ex.compare("zero_pad_pair_3d", points=0.5, call=Call("zero_pad", X_4x5x3, (1, 2)), hint=PAD_HINT,
           title="zero_pad with (ph, pw) on a 3-D input")
ex.compare("zero_pad_int_3d", points=0.5, call=Call("zero_pad", X_4x5x3, 1), hint=PAD_HINT,
           title="zero_pad with an int on a 3-D input (channels not padded)")
ex.compare("conv2d_valid_2d", points=1, call=Call("conv2d", IMG_7, K_3), hint=VALID_HINT,
           title="conv2d, 2-D image, 3×3 kernel, valid")
ex.compare("conv2d_valid_even_kernel", points=0.5, call=Call("conv2d", IMG_8x6, K_2x4),
           hint=VALID_HINT, title="conv2d, 2-D image, even 2×4 kernel, valid")
ex.compare("conv2d_multichannel_bias", points=1,
           call=Call("conv2d", X_7x7x3, K_3x3x3x4, bias=B_4), hint=CHANNEL_HINT,
           title="conv2d, 3 → 4 channels with bias")
ex.compare("conv2d_multichannel_no_bias", points=0.5, call=Call("conv2d", X_7x7x3, K_3x3x3x4),
           hint=CHANNEL_HINT, title="conv2d, 3 → 4 channels without bias")
ex.compare("conv2d_same_odd_kernel", points=1,
           call=Call("conv2d", X_7x7x3, K_3x3x3x4, bias=B_4, padding="same"), hint=SAME_HINT,
           title="conv2d, padding='same', 3×3 kernel")
ex.compare("conv2d_same_even_kernel", points=1,
           call=Call("conv2d", X_6x6x2, K_4x4x2x3, padding="same"), hint=SAME_HINT,
           title="conv2d, padding='same', even 4×4 kernel (asymmetric padding)")
ex.compare("conv2d_valid_stride2", points=0.5,
           call=Call("conv2d", X_9x9x3, K_3x3x3x4, stride=2), hint=STRIDE_HINT,
           title="conv2d, stride 2, valid")
ex.compare("conv2d_same_stride2", points=1,
           call=Call("conv2d", X_8x8x3, K_3x3x3x4, stride=2, padding="same"), hint=SAME_HINT,
           title="conv2d, stride 2, padding='same'")
ex.compare("conv2d_valid_stride3_2d", points=0.5, call=Call("conv2d", IMG_10, K_3, stride=3),
           hint=STRIDE_HINT, title="conv2d, 2-D image, stride 3, valid")
ex.compare("conv2d_same_stride_pair", points=0.5,
           call=Call("conv2d", X_10x11x2, K_3x2x2x2, bias=B_2, stride=(3, 2), padding="same"),
           hint=SAME_HINT + " " + STRIDE_HINT, title="conv2d, stride (3, 2), padding='same'")
ex.compare("sobel_edges", points=1, call=Call("sobel_edges", PHOTO),
           hint=("gx = conv2d(image, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], padding='same'), gy "
                 "with the transposed kernel, then sqrt(gx**2 + gy**2)."),
           title="sobel_edges gradient magnitude")
