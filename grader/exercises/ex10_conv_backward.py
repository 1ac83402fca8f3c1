"""Checks for ex10: the backward passes of a convolution and of max pooling, and a numerical
gradient (central differences) to check them with.

conv2d_backward returns (dx, dkernel, dbias): each is judged by a check of its own on the same
call, so a mistake in one gradient costs that gradient's checks only. The hidden inputs show
every catalogued mistake at every seed (grader.checks.core): C_in = 2 and C_out = 3 (a kernel
reshaped instead of transposed always mixes its weights up), a non-square kernel, a stride-2
'valid' case with a column in no window, 'same' cases whose total padding is odd on both axes
(so the crop is asymmetric), random normal values (a flipped kernel always shows).

max_pool2d_backward gets inputs without ties, positive upstream gradients and one planted
maximum per check that is not the first cell of (one of) its windows and, where windows overlap,
lies in two or more windows (so sending dout to the first cell, or overwriting instead of
adding, always shows).

numerical_gradient needs a function: a driver (run in the kernel, and against the reference
here) differentiates the grader's curved f(x) = Σ w·exp(x) + c/2·(Σx)², whose second
derivatives are at least c on the diagonal and c off it: one-sided differences are off by at
least eps·c/2 everywhere, and an x left perturbed by earlier entries shifts the later ones by
eps·c per entry. The same driver reports x as it is after the call, for the check that x is left
unchanged. The step is eps=1e-3, where both errors are far above the comparison's tolerance and
central differences agree with the reference's to rounding.

Public examples of the release: max_pool2d_backward's compare checks; for conv2d_backward one
example per call, which compares dx, dkernel and dbias each on its own and names them; for
numerical_gradient the same driver, shipped as source (it is grader code, not a solution), on
public inputs.

The numerical_gradient driver is grader.exercises._ex10_driver's, the catalogue of known wrong
answers (the mutants of tests/mutants/ex10_conv_backward) grader.exercises._ex10_mistakes'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grader.checks.calls import Call, standard_normal
from grader.checks.core import Context, Exercise, Fail
from grader.checks.expect import expect_match, expect_parts
from grader.checks.variants import explain
from grader.exercises._ex10_driver import NUMGRAD_DRIVER
from grader.exercises._ex10_mistakes import CONV_WRONG, MAXPOOL_WRONG, NUMGRAD_WRONG
from grader.models import Limits

exercise = Exercise(
    "ex10_conv_backward",
    title="Backpropagation through a convolution",
    limits=Limits(cell_timeout=30, notebook_timeout=300, probe_timeout=10),
)
ex = exercise


# -- conv2d_backward ---------------------------------------------------------------------------

X_6x7x2 = ex.input("x", standard_normal(6, 7, 2))
K_3x2x2x3 = ex.input("kernel", standard_normal(3, 2, 2, 3))
DOUT_4x6x3 = ex.input("dout", standard_normal(4, 6, 3))
X_9x8x2 = ex.input("x", standard_normal(9, 8, 2))
K_3x3x2x3 = ex.input("kernel", standard_normal(3, 3, 2, 3))
DOUT_4x3x3 = ex.input("dout", standard_normal(4, 3, 3))  # valid, stride 2: column 7 unused
K_4x3x2x3 = ex.input("kernel", standard_normal(4, 3, 2, 3))
DOUT_5x4x3 = ex.input("dout", standard_normal(5, 4, 3))  # same, stride 2: totals 3 and 1
X_6x5x2 = ex.input("x", standard_normal(6, 5, 2))
K_2x4x2x3 = ex.input("kernel", standard_normal(2, 4, 2, 3))
DOUT_6x5x3 = ex.input("dout", standard_normal(6, 5, 3))  # same, stride 1: totals 1 and 3

VALID = Call("conv2d_backward", DOUT_4x6x3, X_6x7x2, K_3x2x2x3)
STRIDED = Call("conv2d_backward", DOUT_4x3x3, X_9x8x2, K_3x3x2x3, stride=2)
SAME = Call("conv2d_backward", DOUT_5x4x3, X_9x8x2, K_4x3x2x3, stride=2, padding="same")
SAME_1 = Call("conv2d_backward", DOUT_6x5x3, X_6x5x2, K_2x4x2x3, padding="same")

PARTS = ("dx", "dkernel", "dbias")
DX_HINT = (
    "Scatter back: for each output position, dx_padded[window] += kernel @ dout[i, j]. As a "
    "convolution: dout padded with kh - 1 zeros, the kernel flipped in both spatial axes "
    "and its channel axes transposed (kernel[::-1, ::-1].transpose(0, 1, 3, 2))."
)
DK_HINT = (
    "The kernel is shared by every position: dkernel sums window ⊗ dout[i, j] over all "
    "output positions (+=, not =)."
)
DB_HINT = "dbias[o] sums dout[..., o] over the two spatial axes: dout.sum(axis=(0, 1))."
STRIDE_HINT = (
    "Output (i, j) came from the window starting at (i * sh, j * sw): its gradient goes "
    "back there. Cells of x in no window get 0."
)
SAME_HINT = (
    "With 'same' the loop gives the gradient of the padded input: crop it back to x's "
    "shape, removing TensorFlow's padding (the smaller half top/left, the extra row or "
    "column bottom/right)."
)


def _part_check(index: int) -> Callable[[Any, Context], None]:
    """A check of one of (dx, dkernel, dbias): the others are judged by their own checks."""
    name = PARTS[index]

    def fn(got: Any, ctx: Context) -> None:
        got = expect_parts(got, PARTS, what=ctx.text)
        want = ctx.expected[index]
        try:
            expect_match(got[index], want, what=f"{ctx.text}: {name}")
        except Fail as exc:
            why = explain(got[index], ctx, ex.wrong, part=lambda v: v[index], expected=want)
            raise Fail(f"{exc}{why}", hint=exc.hint) from None

    return fn


def _conv_check(
    id: str, points: float, call: Call, index: int, *, title: str, hint: str, public: bool = False
) -> None:
    """Register a check of one part of conv2d_backward's answer.

    `public`: the call becomes a public example of the release (grader.selfcheck), which
    compares dx, dkernel and dbias each on its own, with their hints; one per call."""
    ex.check(points=points, call=call, title=title, hint=hint, id=id)(_part_check(index))
    if public:
        ex.example(
            f"{id.removesuffix('_dx')}_example",
            call=call,
            hint=hint,
            title=title.removesuffix(": dx"),
            parts=PARTS,
            part_hints=(hint, DK_HINT, DB_HINT),
        )


_conv_check(
    "conv_valid_dx",
    1,
    VALID,
    0,
    title="conv2d_backward, valid, stride 1: dx",
    hint=DX_HINT,
    public=True,
)
_conv_check(
    "conv_valid_dkernel",
    1,
    VALID,
    1,
    title="conv2d_backward, valid, stride 1: dkernel",
    hint=DK_HINT,
)
_conv_check(
    "conv_valid_dbias", 0.5, VALID, 2, title="conv2d_backward, valid, stride 1: dbias", hint=DB_HINT
)
_conv_check(
    "conv_stride_dx",
    0.5,
    STRIDED,
    0,
    title="conv2d_backward, valid, stride 2: dx",
    hint=STRIDE_HINT,
    public=True,
)
_conv_check(
    "conv_stride_dkernel",
    0.5,
    STRIDED,
    1,
    title="conv2d_backward, valid, stride 2: dkernel",
    hint=STRIDE_HINT + " " + DK_HINT,
)
_conv_check(
    "conv_same_dx",
    1,
    SAME,
    0,
    title="conv2d_backward, 'same', stride 2: dx",
    hint=SAME_HINT + " " + STRIDE_HINT,
    public=True,
)
_conv_check(
    "conv_same_dkernel",
    0.5,
    SAME,
    1,
    title="conv2d_backward, 'same', stride 2: dkernel",
    hint=SAME_HINT + " " + DK_HINT,
)
_conv_check(
    "conv_same_stride1_dx",
    0.5,
    SAME_1,
    0,
    title="conv2d_backward, 'same', stride 1, even 2×4 kernel: dx",
    hint=SAME_HINT,
    public=True,
)


# -- max_pool2d_backward -----------------------------------------------------------------------


def _planted(shape: tuple[int, ...], at: tuple[int, int]) -> Callable[[np.random.Generator], Any]:
    """Normal values (no ties) with the largest one planted at `at` in every channel: a cell that
    is not the first of (one of) its windows and, where windows overlap, lies in more than one."""

    def make(rng: np.random.Generator) -> np.ndarray:
        x = rng.standard_normal(shape)
        x[at] = x.max(axis=(0, 1)) + 1.0
        return x

    return make


def _positive(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Upstream gradients in [0.5, 1.5]: overlapping windows' sums never cancel."""
    return lambda rng: rng.uniform(0.5, 1.5, shape)


P_X_6x6x3 = ex.input("x", _planted((6, 6, 3), (1, 1)))
P_DOUT_3x3x3 = ex.input("dout", _positive(3, 3, 3))
P_X_7x7x2 = ex.input("x", _planted((7, 7, 2), (2, 4)))  # in four windows of pool 3, stride 2
P_DOUT_3x3x2 = ex.input("dout", _positive(3, 3, 2))
P_X_7x8 = ex.input("x", _planted((7, 8), (2, 1)))  # rows 0-2 and 2-4 of pool (3, 2), stride 2
P_DOUT_3x4 = ex.input("dout", _positive(3, 4))

ROUTE_HINT = (
    "All of dout[i, j] goes to the position of window (i, j)'s maximum (not to every "
    "cell, not to the first), per channel."
)
OVERLAP_HINT = (
    "When stride < pool_size the windows overlap and a cell can be the maximum of "
    "several: add their gradients (+=), do not overwrite."
)

ex.compare(
    "maxpool_backward_default",
    points=1,
    call=Call("max_pool2d_backward", P_DOUT_3x3x3, P_X_6x6x3),
    hint=ROUTE_HINT,
    title="max_pool2d_backward, pool 2, 3 channels",
)
ex.compare(
    "maxpool_backward_overlap",
    points=1,
    call=Call("max_pool2d_backward", P_DOUT_3x3x2, P_X_7x7x2, pool_size=3, stride=2),
    hint=OVERLAP_HINT,
    title="max_pool2d_backward, overlapping windows (pool 3, stride 2)",
)
ex.compare(
    "maxpool_backward_2d_pair",
    points=0.5,
    call=Call("max_pool2d_backward", P_DOUT_3x4, P_X_7x8, pool_size=(3, 2), stride=2),
    hint=ROUTE_HINT + " " + OVERLAP_HINT,
    title="max_pool2d_backward, 2-D input, pool (3, 2), stride 2",
)


# -- numerical_gradient ------------------------------------------------------------------------

EPS = 1e-3
COUPLING = 2.0
NUMGRAD_ATOL = 1e-6


def _uniform(*shape: int, low: float = -1.0, high: float = 1.0) -> Callable[..., np.ndarray]:
    return lambda rng: rng.uniform(low, high, shape)


N_X_6 = ex.input("x", _uniform(6))
N_W_6 = ex.input("w", _uniform(6, low=0.5, high=1.5))
N_X_2x3x4 = ex.input("x", _uniform(2, 3, 4))
N_W_2x3x4 = ex.input("w", _uniform(2, 3, 4, low=0.5, high=1.5))
F_TEXT = "f(x) = sum(w * exp(x)) + (sum(x))**2"


def _numgrad_call(x: Any, w: Any, shape: str, report: str = "gradient") -> Call:
    return Call.driver(
        NUMGRAD_DRIVER, "numerical_gradient", x, w, COUPLING, EPS, report=report
    ).labelled(f"numerical_gradient(f, x {shape}, eps={EPS:g}) with {F_TEXT}")


NUMGRAD_HINT = (
    "Central differences: (f(x + eps·e_i) - f(x - eps·e_i)) / (2·eps) for every entry "
    "i of x (np.ndindex(x.shape) visits them all); the one-sided "
    "(f(x + eps·e_i) - f(x)) / eps is only accurate to O(eps)."
)
KEEP_X_HINT = (
    "Work on a copy (xc = np.array(x, dtype=float)) or put each entry back after "
    "perturbing it: x must be exactly as it was, for the caller and for the next entry."
)


def _numgrad_check(got: Any, ctx: Context) -> None:
    if not isinstance(got, dict) or "own" not in got:
        raise Fail(f"{ctx.text}: the grader could not read the result (got {type(got).__name__})")
    want = ctx.expected["own"]
    what = f"{ctx.text}: " + (
        "x after the call" if ctx.kwargs.get("report") == "x" else "the gradient"
    )
    try:
        expect_match(got["own"], want, what=what, atol=NUMGRAD_ATOL)
    except Fail as exc:
        why = explain(got["own"], ctx, ex.wrong, atol=NUMGRAD_ATOL, expected=want)
        raise Fail(f"{exc}{why}", hint=exc.hint) from None


ex.check(
    points=0.5,
    call=_numgrad_call(N_X_6, N_W_6, "(6,)"),
    hint=NUMGRAD_HINT,
    title="numerical_gradient of a curved f, x of shape (6,)",
    id="numgrad_vector",
)(_numgrad_check)
ex.check(
    points=1,
    call=_numgrad_call(N_X_2x3x4, N_W_2x3x4, "(2, 3, 4)"),
    hint=NUMGRAD_HINT,
    title="numerical_gradient of a curved f, x of shape (2, 3, 4)",
    id="numgrad_3d",
)(_numgrad_check)
ex.check(
    points=0.5,
    call=_numgrad_call(N_X_2x3x4, N_W_2x3x4, "(2, 3, 4)", report="x"),
    hint=KEEP_X_HINT,
    title="numerical_gradient leaves x unchanged",
    id="numgrad_leaves_x",
)(_numgrad_check)


ex.example(
    "numgrad_example",
    call=_numgrad_call(N_X_2x3x4, N_W_2x3x4, "(2, 3, 4)"),
    hint=NUMGRAD_HINT,
    title="numerical_gradient of a curved f",
    atol=NUMGRAD_ATOL,
    subject="the gradient",
)
ex.example(
    "numgrad_leaves_x_example",
    call=_numgrad_call(N_X_2x3x4, N_W_2x3x4, "(2, 3, 4)", report="x"),
    hint=KEEP_X_HINT,
    title="numerical_gradient leaves x unchanged",
    atol=NUMGRAD_ATOL,
    subject="x after the call",
)


ex.wrong += CONV_WRONG + MAXPOOL_WRONG + NUMGRAD_WRONG
