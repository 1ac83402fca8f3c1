"""The catalogue of known wrong answers of ex10 (grader.exercises.ex10_conv_backward, the
mutants of tests/mutants/ex10_conv_backward): each mistake in conv2d_backward,
max_pool2d_backward and numerical_gradient as a function of the reference, and the checks that
exist to catch it (grader.checks.variants)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from grader.checks.variants import Wrong
from grader.exercises._ex10_driver import NUMGRAD_DRIVER

# -- conv2d_backward ---------------------------------------------------------------------------


def pads(n: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding of an axis of n (before, after): the smaller half first."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def pair(v: Any) -> tuple[int, int]:
    """A size or stride given as an int or a pair, as a pair."""
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


def _padded(x: Any, kernel: Any, stride: Any, padding: str) -> tuple[np.ndarray, int, int]:
    """x as the forward pass convolves it, and the (top, left) padding to crop off again."""
    x = np.asarray(x, dtype=float)
    kh, kw = np.shape(kernel)[:2]
    sh, sw = pair(stride)
    if padding != "same":
        return x, 0, 0
    rows, cols = pads(x.shape[0], kh, sh), pads(x.shape[1], kw, sw)
    return np.pad(x, (rows, cols, (0, 0))), rows[0], cols[0]


def _with(index: int, wrong: Callable[..., Any]) -> Callable[..., Any]:
    """The reference's answer with part `index` replaced by `wrong(ref, *args)`'s same part."""

    def make(
        ref: Any, dout: Any, x: Any, kernel: Any, stride: Any = 1, padding: str = "valid"
    ) -> tuple[Any, ...]:
        right = list(ref.conv2d_backward(dout, x, kernel, stride, padding))
        right[index] = wrong(ref, dout, x, kernel, stride, padding)[index]
        return tuple(right)

    return make


def _last_position(ref: Any, dout: Any, x: Any, kernel: Any, stride: Any, padding: str) -> Any:
    mask = np.zeros(np.shape(dout))
    mask[-1, -1] = 1.0
    return ref.conv2d_backward(np.asarray(dout) * mask, x, kernel, stride, padding)


def _not_cropped(ref: Any, dout: Any, x: Any, kernel: Any, stride: Any, padding: str) -> Any:
    xp, _, _ = _padded(x, kernel, stride, padding)
    return ref.conv2d_backward(dout, xp, kernel, stride, "valid")


def _stride_ignored(
    ref: Any, dout: Any, x: Any, kernel: Any, stride: Any = 1, padding: str = "valid"
) -> Any:
    """Windows at (i, j) instead of (i * sh, j * sw): the stride-1 backward of the padded x with
    dout in the top-left corner of a stride-1 sized upstream gradient."""
    xp, top, left = _padded(x, kernel, stride, padding)
    kh, kw = np.shape(kernel)[:2]
    dout = np.asarray(dout, dtype=float)
    big = np.zeros((xp.shape[0] - kh + 1, xp.shape[1] - kw + 1, dout.shape[2]))
    big[: dout.shape[0], : dout.shape[1]] = dout
    dxp, dk, db = ref.conv2d_backward(big, xp, kernel, 1, "valid")
    h, w = np.shape(x)[:2]
    return dxp[top : top + h, left : left + w], dk, db


def _kernel_as(change: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Any]:
    """The backward pass computed with a changed kernel (what a dx written as a convolution
    with a kernel not flipped, or reshaped instead of transposed, amounts to)."""

    def make(ref: Any, dout: Any, x: Any, kernel: Any, stride: Any, padding: str) -> Any:
        return ref.conv2d_backward(
            dout, x, change(np.asarray(kernel, dtype=float)), stride, padding
        )

    return make


def _reshaped(kernel: np.ndarray) -> np.ndarray:
    kh, kw, c_in, c_out = kernel.shape
    reshaped: np.ndarray = kernel.reshape(kh, kw, c_out, c_in).transpose(0, 1, 3, 2)
    return reshaped


DX = ("conv_valid_dx", "conv_stride_dx", "conv_same_dx", "conv_same_stride1_dx")
DKERNEL = ("conv_valid_dkernel", "conv_stride_dkernel", "conv_same_dkernel")
STRIDED_CHECKS = ("conv_stride_dx", "conv_stride_dkernel", "conv_same_dx", "conv_same_dkernel")
CONV_WRONG = [
    Wrong(
        "conv2d_backward",
        "dkernel_last_position",
        "with dkernel from the last output position only (= instead of +=); the kernel is "
        "shared, so dkernel sums window ⊗ dout over every output position",
        _with(1, _last_position),
        caught_by=DKERNEL,
    ),
    Wrong(
        "conv2d_backward",
        "dx_kernel_not_flipped",
        "with dx convolved with the kernel not flipped; written as a convolution of dout, dx "
        "needs the kernel flipped in both spatial axes (kernel[::-1, ::-1])",
        _with(0, _kernel_as(lambda k: k[::-1, ::-1])),
        caught_by=DX,
    ),
    Wrong(
        "conv2d_backward",
        "dx_channels_reshaped",
        "with the kernel's channel axes reshaped to (kh, kw, C_out, C_in) instead of "
        "transposed (kernel.transpose(0, 1, 3, 2)), which mixes up its weights",
        _with(0, _kernel_as(_reshaped)),
        caught_by=DX,
    ),
    Wrong(
        "conv2d_backward",
        "dbias_channels_first",
        "with dbias summed over axes (1, 2) as for channels-first arrays; here channels are "
        "last: sum over axes (0, 1)",
        lambda ref, dout, *a, **k: (
            *ref.conv2d_backward(dout, *a, **k)[:2],
            np.asarray(dout).sum(axis=(1, 2)),
        ),
        caught_by=("conv_valid_dbias",),
    ),
    Wrong(
        "conv2d_backward",
        "dbias_all_axes",
        "with dbias summed over every axis (one number); it has one value per output channel",
        lambda ref, dout, *a, **k: (*ref.conv2d_backward(dout, *a, **k)[:2], float(np.sum(dout))),
        caught_by=("conv_valid_dbias",),
    ),
    Wrong(
        "conv2d_backward",
        "same_not_cropped",
        "with the gradient of the padded input, not cropped back to x's shape",
        _with(0, _not_cropped),
        caught_by=("conv_same_dx", "conv_same_stride1_dx"),
    ),
    Wrong(
        "conv2d_backward",
        "stride_ignored",
        "with the stride ignored (the gradient of output (i, j) sent to the window at (i, j) "
        "instead of (i * stride, j * stride))",
        _stride_ignored,
        caught_by=STRIDED_CHECKS,
    ),
]


# -- max_pool2d_backward -----------------------------------------------------------------------


def _route(how: str) -> Callable[..., Any]:
    """max_pool2d_backward with each window's gradient sent the wrong way: to the whole window,
    to its first cell, or assigned to its maximum (a later window overwrites an earlier one)."""

    def make(ref: Any, dout: Any, x: Any, pool_size: Any = 2, stride: Any = None) -> Any:
        x = np.asarray(x, dtype=float)
        dout = np.asarray(dout, dtype=float)
        flat = x.ndim == 2
        if flat:
            x, dout = x[:, :, None], dout[:, :, None]
        kh, kw = pair(pool_size)
        sh, sw = (kh, kw) if stride is None else pair(stride)
        dx = np.zeros_like(x)
        channels = np.arange(x.shape[2])
        for i in range(dout.shape[0]):
            for j in range(dout.shape[1]):
                r, c = i * sh, j * sw
                if how == "whole":
                    dx[r : r + kh, c : c + kw] += dout[i, j]
                elif how == "first":
                    dx[r, c] += dout[i, j]
                else:
                    best = x[r : r + kh, c : c + kw].reshape(kh * kw, -1).argmax(axis=0)
                    u, v = np.unravel_index(best, (kh, kw))
                    dx[r + u, c + v, channels] = dout[i, j]
        return dx[:, :, 0] if flat else dx

    return make


MAXPOOL = ("maxpool_backward_default", "maxpool_backward_overlap", "maxpool_backward_2d_pair")
MAXPOOL_WRONG = [
    Wrong(
        "max_pool2d_backward",
        "whole_window",
        "with dout sent to every cell of the window (the gradient of a sum); only the "
        "window's maximum gets it",
        _route("whole"),
        caught_by=MAXPOOL,
    ),
    Wrong(
        "max_pool2d_backward",
        "first_cell",
        "with dout sent to the first cell of each window; it goes to the window's maximum",
        _route("first"),
        caught_by=MAXPOOL,
    ),
    Wrong(
        "max_pool2d_backward",
        "overlap_overwritten",
        "with overlapping windows' gradients overwritten (=) instead of added (+=)",
        _route("assign"),
        caught_by=("maxpool_backward_overlap", "maxpool_backward_2d_pair"),
    ),
]


# -- numerical_gradient ------------------------------------------------------------------------


def _forward(f: Any, x: Any, eps: float) -> np.ndarray:
    grad = np.zeros(np.shape(x))
    base = f(x)
    for idx in np.ndindex(grad.shape):
        xp = np.array(x, dtype=float)
        xp[idx] += eps
        grad[idx] = (f(xp) - base) / eps
    return grad


def _not_restored(f: Any, x: Any, eps: float) -> np.ndarray:
    """Perturbs x in place and never puts the entries back."""
    grad = np.zeros(np.shape(x))
    for idx in np.ndindex(grad.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = f(x)
        x[idx] = old - eps
        grad[idx] = (f_plus - f(x)) / (2 * eps)
    return grad


def _numgrad_as(numerical_gradient: Callable[..., Any]) -> Callable[..., Any]:
    """What the driver reports when the kernel's numerical_gradient is this one."""

    def make(ref: Any, *args: Any, **kwargs: Any) -> Any:
        namespace = types.SimpleNamespace(numerical_gradient=numerical_gradient)
        return NUMGRAD_DRIVER.run(namespace, *args, **kwargs)["own"]

    return make


NUMGRAD = ("numgrad_vector", "numgrad_3d")
NUMGRAD_WRONG = [
    Wrong(
        "numerical_gradient",
        "forward_difference",
        "with one-sided differences (f(x + eps·e_i) - f(x)) / eps, accurate to O(eps) only; "
        "central differences divide f(x + eps·e_i) - f(x - eps·e_i) by 2·eps",
        _numgrad_as(_forward),
        caught_by=NUMGRAD,
    ),
    Wrong(
        "numerical_gradient",
        "x_not_restored",
        "with the entries of x perturbed in place and never put back (so x changes, and "
        "every later entry starts from a shifted x)",
        _numgrad_as(_not_restored),
        caught_by=(*NUMGRAD, "numgrad_leaves_x"),
    ),
]
