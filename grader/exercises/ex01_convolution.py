"""Checks for ex01: zero padding, 2-D convolution (Keras semantics) and Sobel edges.

The shapes of the hidden inputs are fixed and chosen so that every mistake a check is about
shows at every seed (grader.checks.core): each 'same' case with a stride has an axis the stride
does not divide (floor vs ceil) and one with an odd total padding (how it is split); the even
kernel at stride 1 pads an odd total too. The values are random normals, on which a flipped
kernel, a missing bias or a shifted window always change the answer. The known-wrong variants
below name the mistake in a failed check's message.

sobel_edges is judged as it is, with the student's own conv2d: the reference conv2d cannot be
sent into a student's kernel, and no conv2d check makes the 2-D 'same' call sobel_edges makes,
so a conv2d mistake that only that call shows is charged here (the message says where to look).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.calls import Call, standard_normal
from grader.checks.core import Exercise
from grader.checks.variants import Wrong
from grader.models import Limits

exercise = Exercise(
    "ex01_convolution",
    title="Convolution by hand",
    limits=Limits(cell_timeout=30, notebook_timeout=300, probe_timeout=10),
)
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
X_9x8x3 = ex.input("x", standard_normal(9, 8, 3))  # 9: ceil(9/2) = 5; 8: total padding 1
X_10x11x2 = ex.input("x", standard_normal(10, 11, 2))
K_3x2x2x2 = ex.input("kernel", standard_normal(3, 2, 2, 2))
B_2 = ex.input("bias", standard_normal(2))
PHOTO = ex.input("image", lambda rng: rng.uniform(0.0, 1.0, (12, 10)))

PAD_HINT = "Zeros go on both sides of the two spatial axes only; a channel axis is left alone."
VALID_HINT = (
    "With padding='valid' the output has n - k + 1 positions per axis (stride 1). "
    "Keras does not flip the kernel: it computes a cross-correlation."
)
SAME_HINT = (
    "With padding='same' the output size is ceil(n / stride). The total padding is "
    "max((out - 1) * stride + k - n, 0); TensorFlow puts the smaller half on the top/left "
    "and the extra row or column on the bottom/right."
)
STRIDE_HINT = "Move the window `stride` positions at a time; a pair gives (rows, columns)."
CHANNEL_HINT = (
    "Each output channel sums over all input channels: "
    "out[i, j, o] = sum(window * kernel[:, :, :, o]) + bias[o]."
)

ex.compare(
    "zero_pad_int_2d",
    points=0.5,
    call=Call("zero_pad", IMG_5x4, 2),
    hint=PAD_HINT,
    title="zero_pad with an int on a 2-D image",
)
ex.compare(
    "zero_pad_pair_3d",
    points=0.5,
    call=Call("zero_pad", X_4x5x3, (1, 2)),
    hint=PAD_HINT,
    title="zero_pad with (ph, pw) on a 3-D input",
)
ex.compare(
    "zero_pad_int_3d",
    points=0.5,
    call=Call("zero_pad", X_4x5x3, 1),
    hint=PAD_HINT,
    title="zero_pad with an int on a 3-D input (channels not padded)",
)
ex.compare(
    "conv2d_valid_2d",
    points=1,
    call=Call("conv2d", IMG_7, K_3),
    hint=VALID_HINT,
    title="conv2d, 2-D image, 3×3 kernel, valid",
)
ex.compare(
    "conv2d_valid_even_kernel",
    points=0.5,
    call=Call("conv2d", IMG_8x6, K_2x4),
    hint=VALID_HINT,
    title="conv2d, 2-D image, even 2×4 kernel, valid",
)
ex.compare(
    "conv2d_multichannel_bias",
    points=1,
    call=Call("conv2d", X_7x7x3, K_3x3x3x4, bias=B_4),
    hint=CHANNEL_HINT,
    title="conv2d, 3 → 4 channels with bias",
)
ex.compare(
    "conv2d_multichannel_no_bias",
    points=0.5,
    call=Call("conv2d", X_7x7x3, K_3x3x3x4),
    hint=CHANNEL_HINT,
    title="conv2d, 3 → 4 channels without bias",
)
ex.compare(
    "conv2d_same_odd_kernel",
    points=1,
    call=Call("conv2d", X_7x7x3, K_3x3x3x4, bias=B_4, padding="same"),
    hint=SAME_HINT,
    title="conv2d, padding='same', 3×3 kernel",
)
ex.compare(
    "conv2d_same_even_kernel",
    points=1,
    call=Call("conv2d", X_6x6x2, K_4x4x2x3, padding="same"),
    hint=SAME_HINT,
    title="conv2d, padding='same', even 4×4 kernel (asymmetric padding)",
)
ex.compare(
    "conv2d_valid_stride2",
    points=0.5,
    call=Call("conv2d", X_9x9x3, K_3x3x3x4, stride=2),
    hint=STRIDE_HINT,
    title="conv2d, stride 2, valid",
)
ex.compare(
    "conv2d_same_stride2",
    points=1,
    call=Call("conv2d", X_9x8x3, K_3x3x3x4, stride=2, padding="same"),
    hint=SAME_HINT,
    title="conv2d, stride 2, padding='same'",
)
ex.compare(
    "conv2d_valid_stride3_2d",
    points=0.5,
    call=Call("conv2d", IMG_10, K_3, stride=3),
    hint=STRIDE_HINT,
    title="conv2d, 2-D image, stride 3, valid",
)
ex.compare(
    "conv2d_same_stride_pair",
    points=0.5,
    call=Call("conv2d", X_10x11x2, K_3x2x2x2, bias=B_2, stride=(3, 2), padding="same"),
    hint=SAME_HINT + " " + STRIDE_HINT,
    title="conv2d, stride (3, 2), padding='same'",
)
ex.compare(
    "sobel_edges",
    points=1,
    call=Call("sobel_edges", PHOTO),
    hint=(
        "gx = conv2d(image, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], padding='same'), gy "
        "with the transposed kernel, then sqrt(gx**2 + gy**2)."
    ),
    title="sobel_edges gradient magnitude",
)


# -- known wrong answers (the mutant catalogue, tests/mutants/ex01_convolution) ----------------


def _pairs(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def _conv_padded(split: str, *, floor: bool = False) -> Any:
    """conv2d with 'same' padding split another way (or sized with floor), from the reference's
    'valid' convolution of an input padded here."""

    def make(
        ref: Any, x: Any, kernel: Any, bias: Any = None, stride: Any = 1, padding: str = "valid"
    ) -> Any:
        if padding != "same":
            return ref.conv2d(x, kernel, bias=bias, stride=stride, padding=padding)
        x = np.asarray(x, dtype=float)
        kernel = np.asarray(kernel, dtype=float)
        widths, outs = [], []
        for n, k, s in zip(x.shape[:2], kernel.shape[:2], _pairs(stride), strict=False):
            out = n // s if floor else -(-n // s)
            total = max((out - 1) * s + k - n, 0)
            before = {
                "tf": total // 2,
                "reversed": total - total // 2,
                "symmetric": total // 2,
                "after": 0,
            }[split]
            after = total // 2 if split == "symmetric" else total - before
            widths.append((before, after))
            outs.append(out)
        x = np.pad(x, widths + [(0, 0)] * (x.ndim - 2))
        y = ref.conv2d(x, kernel, bias=bias, stride=stride, padding="valid")
        return y[: outs[0], : outs[1]] if floor else y

    return make


def _course_same(
    ref: Any, x: Any, kernel: Any, bias: Any = None, stride: Any = 1, padding: str = "valid"
) -> Any:
    """'same' as CS231n's and deeplearning.ai's conv_forward pad: p = (k - 1) // 2 zeros on
    every side, output floor((n + 2p - k) / s) + 1."""
    if padding != "same":
        return ref.conv2d(x, kernel, bias=bias, stride=stride, padding=padding)
    x = np.asarray(x, dtype=float)
    ph, pw = ((k - 1) // 2 for k in np.shape(kernel)[:2])
    x = np.pad(x, [(ph, ph), (pw, pw)] + [(0, 0)] * (x.ndim - 2))
    return ref.conv2d(x, kernel, bias=bias, stride=stride, padding="valid")


def _sobel(combine: Any, padding: str = "same", same_kernel: bool = False, conv: Any = None) -> Any:
    """sobel_edges gone wrong; `conv(ref, x, kernel, padding=...)`: a mistaken conv2d it calls."""

    def make(ref: Any, image: Any) -> Any:
        kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
        convolve = (lambda x, k, padding: conv(ref, x, k, padding=padding)) if conv else ref.conv2d
        gx = convolve(image, kx, padding=padding)
        gy = convolve(image, kx if same_kernel else kx.T, padding=padding)
        return combine(gx, gy)

    return make


CONV = (
    "conv2d_valid_2d",
    "conv2d_valid_even_kernel",
    "conv2d_multichannel_bias",
    "conv2d_multichannel_no_bias",
    "conv2d_same_odd_kernel",
    "conv2d_same_even_kernel",
    "conv2d_valid_stride2",
    "conv2d_same_stride2",
    "conv2d_valid_stride3_2d",
    "conv2d_same_stride_pair",
)
ODD_SAME = ("conv2d_same_even_kernel", "conv2d_same_stride2", "conv2d_same_stride_pair")
# 'same' cases padding a total of 2 or more on an axis: all of it after the image shows there
WIDE_SAME = (
    "conv2d_same_odd_kernel",
    "conv2d_same_even_kernel",
    "conv2d_same_stride2",
    "conv2d_same_stride_pair",
)
STRIDED = (
    "conv2d_valid_stride2",
    "conv2d_same_stride2",
    "conv2d_valid_stride3_2d",
    "conv2d_same_stride_pair",
)
ex.wrong += [
    Wrong(
        "conv2d",
        "flipped_kernel",
        "with the kernel flipped (a true convolution); Keras does not flip the kernel, it "
        "computes a cross-correlation",
        lambda ref, x, kernel, *a, **k: ref.conv2d(x, np.asarray(kernel)[::-1, ::-1], *a, **k),
        caught_by=CONV,
    ),
    Wrong(
        "conv2d",
        "bias_missing",
        "without the bias",
        lambda ref, x, kernel, bias=None, **k: ref.conv2d(x, kernel, **k),
        caught_by=("conv2d_multichannel_bias", "conv2d_same_odd_kernel", "conv2d_same_stride_pair"),
    ),
    Wrong(
        "conv2d",
        "stride_ignored",
        "with the stride ignored (the window moves one pixel)",
        lambda ref, x, kernel, bias=None, stride=1, padding="valid": ref.conv2d(
            x, kernel, bias=bias, padding=padding
        ),
        caught_by=STRIDED,
    ),
    Wrong(
        "conv2d",
        "symmetric_same_split",
        "with the 'same' padding split evenly (total // 2 on each side), which loses a row "
        "or column when the total is odd",
        _conv_padded("symmetric"),
        caught_by=ODD_SAME,
    ),
    Wrong(
        "conv2d",
        "reversed_same_split",
        "with the odd extra 'same' padding row or column on the top/left; TensorFlow puts "
        "the smaller half first and the extra one on the bottom/right",
        _conv_padded("reversed"),
        caught_by=ODD_SAME,
    ),
    Wrong(
        "conv2d",
        "same_all_after",
        "with all of the 'same' padding after the image (bottom/right), as Keras' NumPy test "
        "oracles pad; TensorFlow splits it: the smaller half on the top/left, the rest on the "
        "bottom/right",
        _conv_padded("after"),
        caught_by=WIDE_SAME,
        source="Keras' NumPy test oracles (np_conv2d)",
    ),
    Wrong(
        "conv2d",
        "same_course_padding",
        "with p = (k - 1) // 2 zeros on every side and the size floor((n + 2p - k) / s) + 1, "
        "as the CS231n and deeplearning.ai assignments pad; TensorFlow's 'same' gives "
        "ceil(n / stride) and pads max((out - 1) * stride + k - n, 0) in total, the extra row "
        "or column on the bottom/right",
        _course_same,
        caught_by=("conv2d_same_even_kernel", "conv2d_same_stride2", "conv2d_same_stride_pair"),
        source="CS231n / deeplearning.ai conv_forward",
    ),
    Wrong(
        "conv2d",
        "same_floor",
        "with the 'same' output size floor(n / stride) instead of ceil(n / stride)",
        _conv_padded("tf", floor=True),
        caught_by=("conv2d_same_stride2", "conv2d_same_stride_pair"),
    ),
    Wrong(
        "conv2d",
        "same_not_padded",
        "with padding='same' treated as 'valid'",
        lambda ref, x, kernel, bias=None, stride=1, padding="valid": ref.conv2d(
            x, kernel, bias=bias, stride=stride
        ),
        caught_by=(
            "conv2d_same_odd_kernel",
            "conv2d_same_even_kernel",
            "conv2d_same_stride2",
            "conv2d_same_stride_pair",
        ),
    ),
    Wrong(
        "zero_pad",
        "channels_padded",
        "as np.pad(x, pad): every axis padded, the channel axis too (and a pair read as "
        "(before, after))",
        lambda ref, x, pad: np.pad(np.asarray(x), pad),
        caught_by=("zero_pad_pair_3d", "zero_pad_int_3d"),
    ),
    Wrong(
        "zero_pad",
        "pair_swapped",
        "with (ph, pw) read the other way round: ph is for the rows (top and bottom)",
        lambda ref, x, pad: ref.zero_pad(x, pad if np.ndim(pad) == 0 else tuple(pad)[::-1]),
        caught_by=("zero_pad_pair_3d",),
    ),
    Wrong(
        "sobel_edges",
        "no_sqrt",
        "without the square root: gx² + gy²",
        _sobel(lambda gx, gy: gx**2 + gy**2),
        caught_by=("sobel_edges",),
    ),
    Wrong(
        "sobel_edges",
        "abs_sum",
        "as |gx| + |gy| instead of sqrt(gx² + gy²)",
        _sobel(lambda gx, gy: np.abs(gx) + np.abs(gy)),
        caught_by=("sobel_edges",),
    ),
    Wrong(
        "sobel_edges",
        "valid_padding",
        "with padding='valid' (or with a conv2d that does not pad for 'same': check conv2d "
        "on a 2-D image with padding='same')",
        _sobel(lambda gx, gy: np.sqrt(gx**2 + gy**2), padding="valid"),
        caught_by=("sobel_edges",),
    ),
    Wrong(
        "sobel_edges",
        "same_kernel_twice",
        "with the same kernel for gx and gy; gy uses the transposed kernel",
        _sobel(lambda gx, gy: np.sqrt(gx**2 + gy**2), same_kernel=True),
        caught_by=("sobel_edges",),
    ),
    Wrong(
        "sobel_edges",
        "same_all_after",
        "with a conv2d that puts all of the 'same' padding after the image (bottom/right); "
        "TensorFlow splits it: the smaller half on the top/left (check conv2d with "
        "padding='same')",
        _sobel(lambda gx, gy: np.sqrt(gx**2 + gy**2), conv=_conv_padded("after")),
        caught_by=("sobel_edges",),
        source="Keras' NumPy test oracles (np_conv2d)",
    ),
]
