"""The reference solutions of ex01-ex03 and ex10 agree with TensorFlow/Keras ("TF semantics",
CONTRACT.md §1); ex10's backward passes agree with tf.GradientTape in float64.

The functions are taken from the solution notebooks themselves: only the top-level imports,
functions and classes of their code cells are executed, as the grader does. A second group of tests
pins the notebook conventions the student-notebook generator relies on (metadata, no outputs,
solution markers inside the function bodies, docstrings outside them).
"""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
nbformat = pytest.importorskip("nbformat")

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"

CONTRACT = {
    "ex01_convolution": {
        "zero_pad": "(x, pad)",
        "conv2d": "(x, kernel, bias=None, stride=1, padding='valid')",
        "sobel_edges": "(image)",
    },
    "ex02_pooling": {
        "max_pool2d": "(x, pool_size=2, stride=None, padding='valid')",
        "avg_pool2d": "(x, pool_size=2, stride=None, padding='valid')",
        "global_avg_pool": "(x)",
    },
    "ex03_parameters": {
        "conv_output_size": "(n, kernel_size, stride=1, padding='valid')",
        "conv2d_params": "(kernel_size, in_channels, filters, use_bias=True)",
        "dense_params": "(in_features, units, use_bias=True)",
        "summarize": "(layers, input_shape)",
    },
    "ex10_conv_backward": {
        "conv2d_backward": "(dout, x, kernel, stride=1, padding='valid')",
        "max_pool2d_backward": "(dout, x, pool_size=2, stride=None)",
        "numerical_gradient": "(f, x, eps=1e-05)",
    },
}

ATOL = 1e-5
RTOL = 1e-5


# --------------------------------------------------------------------------- loading


def _read(exercise: str) -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / f"{exercise}.ipynb", as_version=4)


def _definitions(nb: nbformat.NotebookNode, transform=lambda source: source) -> dict:
    """Exec the top-level imports, functions and classes of every code cell into a namespace."""
    keep: list[ast.stmt] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(transform(cell.source))
        keep += [
            node
            for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
        ]
    namespace: dict = {}
    exec(
        compile(
            ast.Module(body=keep, type_ignores=[]),
            f"<{nb.metadata['cnn_grader']['exercise']}>",
            "exec",
        ),
        namespace,
    )
    return namespace


def _stub(source: str) -> str:
    """What the student-notebook generator does: each solution region becomes one raise."""
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        marker = line.strip()
        if marker == "### BEGIN SOLUTION":
            assert not inside, "nested BEGIN SOLUTION"
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + "raise NotImplementedError()")
        elif marker == "### END SOLUTION":
            assert inside, "END SOLUTION without BEGIN"
            inside = False
        elif not inside:
            out.append(line)
    assert not inside, "BEGIN SOLUTION without END"
    return "\n".join(out)


@pytest.fixture(scope="module")
def ex01() -> dict:
    return _definitions(_read("ex01_convolution"))


@pytest.fixture(scope="module")
def ex02() -> dict:
    return _definitions(_read("ex02_pooling"))


@pytest.fixture(scope="module")
def ex03() -> dict:
    return _definitions(_read("ex03_parameters"))


@pytest.fixture(scope="module")
def ex10() -> dict:
    return _definitions(_read("ex10_conv_backward"))


def _pair(v):
    return (v, v) if np.ndim(v) == 0 else tuple(v)


# --------------------------------------------------------------------------- ex01


@pytest.mark.parametrize("shape", [(5, 7), (4, 6, 3)])
@pytest.mark.parametrize("pad", [0, 1, 2, (1, 3), (0, 2)])
def test_zero_pad_matches_np_pad(ex01, shape, pad):
    x = np.random.default_rng(1).integers(1, 9, size=shape)
    ph, pw = _pair(pad)
    widths = [(ph, ph), (pw, pw)] + [(0, 0)] * (len(shape) - 2)
    got = ex01["zero_pad"](x, pad)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, np.pad(x, widths))


CONV_CASES = [
    # x shape, kernel shape, bias, stride, padding
    ((7, 7), (3, 3), False, 1, "valid"),
    ((8, 9), (2, 2), False, 1, "same"),
    ((9, 8), (4, 3), False, 2, "same"),
    ((10, 11), (3, 3), False, (1, 2), "valid"),
    ((10, 11, 3), (3, 3, 3, 5), True, 1, "valid"),
    ((10, 11, 3), (3, 3, 3, 5), True, 2, "same"),
    ((12, 13, 2), (5, 4, 2, 3), True, (2, 3), "same"),
    ((12, 13, 2), (2, 3, 2, 4), False, (3, 1), "valid"),
    ((6, 6, 1), (1, 1, 1, 2), True, 3, "same"),
    ((5, 7, 4), (5, 7, 4, 2), True, 1, "valid"),
    ((7, 5, 2), (4, 4, 2, 3), False, 3, "same"),
    ((28, 28, 3), (3, 3, 3, 8), True, 1, "same"),
]


def _tf_conv(x, kernel, bias, stride, padding):
    x4 = x[None, :, :, None] if x.ndim == 2 else x[None]
    k4 = kernel[:, :, None, None] if kernel.ndim == 2 else kernel
    sh, sw = _pair(stride)
    y = tf.nn.conv2d(
        x4.astype(np.float32),
        k4.astype(np.float32),
        strides=[1, sh, sw, 1],
        padding=padding.upper(),
    ).numpy()[0]
    if bias is not None:
        y = y + bias.astype(np.float32)
    return y[:, :, 0] if x.ndim == 2 else y


@pytest.mark.parametrize("x_shape, k_shape, with_bias, stride, padding", CONV_CASES)
def test_conv2d_matches_tf(ex01, x_shape, k_shape, with_bias, stride, padding):
    rng = np.random.default_rng(sum(x_shape) * 31 + sum(k_shape))
    x = rng.normal(size=x_shape)
    kernel = rng.normal(size=k_shape)
    bias = rng.normal(size=k_shape[-1]) if with_bias else None
    kwargs = {"stride": stride, "padding": padding}
    if with_bias:
        kwargs["bias"] = bias
    got = np.asarray(ex01["conv2d"](x, kernel, **kwargs))
    want = _tf_conv(x, kernel, bias, stride, padding)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_conv2d_is_cross_correlation(ex01):
    x = np.zeros((5, 5))
    x[2, 2] = 1.0
    kernel = np.arange(9.0).reshape(3, 3)
    # An impulse reproduces the kernel flipped under cross-correlation (and unflipped under
    # convolution).
    np.testing.assert_allclose(ex01["conv2d"](x, kernel), kernel[::-1, ::-1])


@pytest.mark.parametrize("padding", ["full", "SAMEE", "", None])
def test_conv2d_rejects_unknown_padding(ex01, padding):
    with pytest.raises(ValueError):
        ex01["conv2d"](np.ones((5, 5)), np.ones((3, 3)), padding=padding)


@pytest.mark.parametrize("shape", [(9, 9), (16, 11), (30, 24)])
def test_sobel_edges_matches_tf(ex01, shape):
    image = np.random.default_rng(7).random(shape)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    gx = _tf_conv(image, sobel_x, None, 1, "same")
    gy = _tf_conv(image, sobel_x.T, None, 1, "same")
    got = np.asarray(ex01["sobel_edges"](image))
    assert got.shape == shape
    np.testing.assert_allclose(got, np.sqrt(gx**2 + gy**2), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- ex02


POOL_CASES = [
    # x shape, pool_size, stride, padding
    ((6, 6), 2, None, "valid"),
    ((7, 7), 2, None, "same"),
    ((7, 7, 3), 2, None, "valid"),
    ((7, 7, 3), 2, None, "same"),
    ((7, 8, 2), 3, 2, "valid"),
    ((7, 8, 2), 3, 2, "same"),
    ((9, 10, 2), (2, 3), (1, 2), "same"),
    ((9, 10, 2), (2, 3), (1, 2), "valid"),
    ((5, 5, 1), 3, 1, "same"),
    ((8, 8, 3), 2, 3, "same"),
    ((10, 7, 2), (3, 2), None, "same"),
    ((11, 9, 4), 4, (3, 2), "valid"),
]


def _tf_pool(fn, x, pool_size, stride, padding):
    x4 = x[None, :, :, None] if x.ndim == 2 else x[None]
    kh, kw = _pair(pool_size)
    sh, sw = (kh, kw) if stride is None else _pair(stride)
    y = fn(
        x4.astype(np.float32), ksize=[kh, kw], strides=[sh, sw], padding=padding.upper()
    ).numpy()[0]
    return y[:, :, 0] if x.ndim == 2 else y


@pytest.mark.parametrize(
    "name, tf_fn", [("max_pool2d", "max_pool2d"), ("avg_pool2d", "avg_pool2d")]
)
@pytest.mark.parametrize("x_shape, pool_size, stride, padding", POOL_CASES)
def test_pooling_matches_tf(ex02, name, tf_fn, x_shape, pool_size, stride, padding):
    # Mostly negative values: a max pool that pads with 0 instead of -inf shows up.
    x = np.random.default_rng(sum(x_shape)).normal(loc=-2.0, size=x_shape)
    got = np.asarray(ex02[name](x, pool_size=pool_size, stride=stride, padding=padding))
    want = _tf_pool(getattr(tf.nn, tf_fn), x, pool_size, stride, padding)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_pooling_defaults(ex02):
    x = np.random.default_rng(3).normal(size=(8, 6, 2))
    np.testing.assert_allclose(
        ex02["max_pool2d"](x), _tf_pool(tf.nn.max_pool2d, x, 2, 2, "valid"), rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(
        ex02["avg_pool2d"](x), _tf_pool(tf.nn.avg_pool2d, x, 2, 2, "valid"), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pooling_rejects_unknown_padding(ex02, name):
    with pytest.raises(ValueError):
        ex02[name](np.ones((4, 4, 1)), padding="full")


@pytest.mark.parametrize("shape", [(5, 5, 3), (1, 7, 2), (6, 4, 1)])
def test_global_avg_pool_matches_keras(ex02, shape):
    x = np.random.default_rng(5).normal(size=shape)
    want = keras.layers.GlobalAveragePooling2D()(x[None].astype(np.float32)).numpy()[0]
    got = np.asarray(ex02["global_avg_pool"](x))
    assert got.shape == (shape[2],)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- ex03


def test_conv_output_size_matches_tf(ex03):
    conv_output_size = ex03["conv_output_size"]
    for n in (1, 2, 3, 5, 6, 7, 10, 13):
        x = tf.zeros((1, n, 1, 1))
        for k in (1, 2, 3, 5):
            kernel = tf.zeros((k, 1, 1, 1))
            for s in (1, 2, 3):
                for padding in ("valid", "same"):
                    if padding == "valid" and k > n:
                        with pytest.raises(ValueError):
                            conv_output_size(n, k, s, padding)
                        continue
                    want = tf.nn.conv2d(
                        x, kernel, strides=[1, s, 1, 1], padding=padding.upper()
                    ).shape[1]
                    got = conv_output_size(n, k, stride=s, padding=padding)
                    assert type(got) is int and got == want, (n, k, s, padding, got, want)
    assert conv_output_size(28, 3) == 26
    with pytest.raises(ValueError):
        conv_output_size(28, 3, 1, "full")


@pytest.mark.parametrize(
    "kernel_size, in_channels, filters, use_bias",
    [
        (3, 1, 64, True),
        (3, 64, 64, True),
        ((5, 3), 3, 16, True),
        (1, 32, 8, False),
        ((2, 4), 7, 5, False),
        (7, 3, 96, True),
    ],
)
def test_conv2d_params_matches_keras(ex03, kernel_size, in_channels, filters, use_bias):
    layer = keras.layers.Conv2D(filters, kernel_size, use_bias=use_bias)
    layer.build((None, 16, 16, in_channels))
    got = ex03["conv2d_params"](kernel_size, in_channels, filters, use_bias=use_bias)
    assert type(got) is int and got == layer.count_params()


@pytest.mark.parametrize(
    "in_features, units, use_bias",
    [(784, 128, True), (128, 10, True), (1600, 64, False), (1, 1, True), (3, 7, False)],
)
def test_dense_params_matches_keras(ex03, in_features, units, use_bias):
    layer = keras.layers.Dense(units, use_bias=use_bias)
    layer.build((None, in_features))
    got = ex03["dense_params"](in_features, units, use_bias=use_bias)
    assert type(got) is int and got == layer.count_params()


def _keras_layer(spec):
    kind, args = spec[0], spec[1:]
    if kind == "conv2d":
        stride = args[2] if len(args) > 2 else 1
        padding = args[3] if len(args) > 3 else "valid"
        return keras.layers.Conv2D(args[0], args[1], strides=stride, padding=padding)
    if kind == "maxpool2d":
        return keras.layers.MaxPooling2D(args[0])
    if kind == "flatten":
        return keras.layers.Flatten()
    if kind == "dense":
        return keras.layers.Dense(args[0])
    if kind == "dropout":
        return keras.layers.Dropout(args[0])
    if kind == "batchnorm":
        return keras.layers.BatchNormalization()
    raise AssertionError(kind)


def _random_stack(rng) -> tuple[list, tuple]:
    """A random valid stack: convolutions and pooling, then dense layers on 3-D or flattened
    input."""
    input_shape = (int(rng.integers(10, 33)), int(rng.integers(10, 33)), int(rng.integers(1, 4)))
    h, w = input_shape[:2]
    layers: list = []
    for _ in range(int(rng.integers(1, 5))):
        choice = rng.random()
        if choice < 0.5 and min(h, w) >= 5:
            k = (
                int(rng.integers(1, 6))
                if rng.random() < 0.7
                else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            )
            s = (
                int(rng.integers(1, 4))
                if rng.random() < 0.7
                else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
            )
            padding = str(rng.choice(["valid", "same"]))
            spec = ("conv2d", int(rng.integers(1, 17)), k, s, padding)
            if rng.random() < 0.3 and s == 1 and padding == "valid":
                spec = spec[:3]  # the defaults
            layers.append(spec)
        elif choice < 0.75 and min(h, w) >= 4:
            layers.append(("maxpool2d", int(rng.integers(2, 4)) if rng.random() < 0.8 else (2, 3)))
        elif choice < 0.9:
            layers.append(("batchnorm",))
        else:
            layers.append(("dropout", float(rng.uniform(0.1, 0.5))))
        # Keep the shape valid for what follows.
        model = keras.Sequential(
            [keras.Input(input_shape)] + [_keras_layer(spec) for spec in layers]
        )
        h, w = model.layers[-1].output.shape[1], model.layers[-1].output.shape[2]
        if min(h, w) < 1:
            raise AssertionError("generator produced an empty shape")
    if rng.random() < 0.5:
        layers.append(("flatten",))
    layers.append(("dense", int(rng.integers(1, 33))))
    if rng.random() < 0.5:
        layers.append(("dropout", 0.3))
    layers.append(("dense", int(rng.integers(2, 11))))
    return layers, input_shape


HAND_STACKS = [
    (
        [
            ("conv2d", 64, 3),
            ("maxpool2d", 2),
            ("conv2d", 64, 3),
            ("maxpool2d", 2),
            ("flatten",),
            ("dense", 128),
            ("dense", 10),
        ],
        (28, 28, 1),
    ),
    (
        [
            ("conv2d", 32, 3, 1, "same"),
            ("maxpool2d", 2),
            ("conv2d", 64, 3, 1, "same"),
            ("maxpool2d", 2),
            ("flatten",),
            ("dense", 128),
            ("dropout", 0.3),
            ("dense", 10),
        ],
        (28, 28, 1),
    ),
    (
        [
            ("conv2d", 16, 5, 2, "same"),
            ("batchnorm",),
            ("conv2d", 8, (3, 1), (1, 2)),
            ("batchnorm",),
            ("dense", 4),
        ],
        (15, 17, 3),
    ),
    (
        [
            ("conv2d", 8, (2, 4), (3, 2), "valid"),
            ("maxpool2d", (2, 3)),
            ("dropout", 0.5),
            ("flatten",),
            ("batchnorm",),
            ("dense", 7),
        ],
        (31, 29, 2),
    ),
    ([("dense", 5), ("batchnorm",), ("dense", 3), ("flatten",), ("dense", 2)], (4, 6, 3)),
]


def _stacks():
    rng = np.random.default_rng(2024)
    return HAND_STACKS + [_random_stack(rng) for _ in range(7)]


def test_summarize_matches_keras(ex03):
    summarize = ex03["summarize"]
    for layers, input_shape in _stacks():
        model = keras.Sequential([keras.Input(input_shape)] + [_keras_layer(s) for s in layers])
        rows = summarize(layers, input_shape)
        assert isinstance(rows, list) and len(rows) == len(layers)
        for spec, keras_layer, (shape, params) in zip(layers, model.layers, rows, strict=False):
            want_shape = tuple(int(d) for d in keras_layer.output.shape[1:])
            assert type(shape) is tuple and all(type(d) is int for d in shape), (spec, shape)
            assert type(params) is int, (spec, params)
            assert (shape, params) == (want_shape, keras_layer.count_params()), (
                layers,
                input_shape,
                spec,
            )


def test_summarize_rejects_unknown_layer(ex03):
    with pytest.raises(ValueError):
        ex03["summarize"]([("conv3d", 4, 3)], (8, 8, 1))


# --------------------------------------------------------------------------- ex10

GRAD_ATOL = 1e-5  # CONTRACT.md §1: equal to tf.GradientTape within 1e-5 in float64

CONV_GRAD_CASES = [
    # x shape, kernel shape, stride, padding
    ((6, 7, 2), (3, 2, 2, 3), 1, "valid"),
    ((9, 8, 2), (3, 3, 2, 3), 2, "valid"),  # a column in no window
    ((9, 8, 2), (4, 3, 2, 3), 2, "same"),  # odd total padding on both axes
    ((6, 5, 2), (2, 4, 2, 3), 1, "same"),  # even kernel, odd totals
    ((10, 11, 3), (3, 3, 3, 4), (3, 2), "same"),
    ((12, 13, 2), (5, 4, 2, 1), (2, 3), "valid"),
    ((7, 5, 1), (4, 4, 1, 2), 3, "same"),
    ((5, 5, 4), (1, 1, 4, 2), 1, "valid"),
]


def _tf_conv_grads(x, kernel, bias, dout, stride, padding):
    """dL/dx, dL/dkernel, dL/dbias of L = sum(dout * (conv2d(x, kernel) + bias)) by GradientTape."""
    tx = tf.constant(x[None])
    tk, tb = tf.constant(kernel), tf.constant(bias)
    with tf.GradientTape() as tape:
        tape.watch([tx, tk, tb])
        out = tf.nn.conv2d(tx, tk, strides=(1, *_pair(stride), 1), padding=padding.upper()) + tb
        loss = tf.reduce_sum(out * tf.constant(dout[None]))
    dx, dk, db = tape.gradient(loss, [tx, tk, tb])
    return dx.numpy()[0], dk.numpy(), db.numpy()


@pytest.mark.parametrize("x_shape, k_shape, stride, padding", CONV_GRAD_CASES)
def test_conv2d_backward_matches_gradient_tape(ex10, x_shape, k_shape, stride, padding):
    rng = np.random.default_rng([*x_shape, *k_shape, len(padding)])
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    bias = rng.standard_normal(k_shape[-1])
    out_shape = tf.nn.conv2d(
        x[None], kernel, strides=(1, *_pair(stride), 1), padding=padding.upper()
    ).shape[1:]
    dout = rng.standard_normal(tuple(out_shape))
    want_dx, want_dk, want_db = _tf_conv_grads(x, kernel, bias, dout, stride, padding)
    dx, dk, db = ex10["conv2d_backward"](dout, x, kernel, stride, padding)
    assert (dx.shape, dk.shape, db.shape) == (x.shape, kernel.shape, (k_shape[-1],))
    np.testing.assert_allclose(dx, want_dx, rtol=0, atol=GRAD_ATOL)
    np.testing.assert_allclose(dk, want_dk, rtol=0, atol=GRAD_ATOL)
    np.testing.assert_allclose(db, want_db, rtol=0, atol=GRAD_ATOL)


POOL_GRAD_CASES = [
    # x shape, pool_size, stride (None: pool_size)
    ((6, 6, 3), 2, None),
    ((7, 7, 2), 3, 2),  # overlapping windows, a row and a column in no window
    ((7, 8), (3, 2), 2),  # 2-D input, overlapping rows
    ((9, 9, 1), 3, 1),  # heavy overlap
    ((5, 8, 2), (2, 3), (1, 2)),
]


@pytest.mark.parametrize("x_shape, pool_size, stride", POOL_GRAD_CASES)
def test_max_pool2d_backward_matches_gradient_tape(ex10, x_shape, pool_size, stride):
    rng = np.random.default_rng(len(x_shape) * 100 + x_shape[0])
    x = rng.permutation(np.prod(x_shape)).reshape(x_shape) / 7.0  # distinct values: no ties
    x4 = x if x.ndim == 3 else x[:, :, None]
    strides = _pair(pool_size if stride is None else stride)
    tx = tf.constant(x4[None])
    with tf.GradientTape() as tape:
        tape.watch(tx)
        out = tf.nn.max_pool2d(tx, _pair(pool_size), strides, "VALID")
        dout = rng.standard_normal(out.shape[1:])
        loss = tf.reduce_sum(out * tf.constant(dout[None]))
    want = tape.gradient(loss, tx).numpy()[0]
    if x.ndim == 2:
        want, dout = want[:, :, 0], dout[:, :, 0]
    got = ex10["max_pool2d_backward"](dout, x, pool_size, stride)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=GRAD_ATOL)
    np.testing.assert_allclose(got.sum(), dout.sum())  # every window's gradient lands somewhere


def test_numerical_gradient_is_central_differences_and_leaves_x(ex10):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    before = x.copy()

    def f(v):
        return float(np.sum(np.sin(v) * v**2))

    got = ex10["numerical_gradient"](f, x, 1e-3)
    assert np.array_equal(x, before)
    want = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = 1e-3
        want[idx] = (f(x + e) - f(x - e)) / 2e-3
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    exact = np.cos(x) * x**2 + 2 * x * np.sin(x)
    np.testing.assert_allclose(ex10["numerical_gradient"](f, x), exact, rtol=0, atol=1e-8)


def test_numerical_gradient_checks_the_backward_passes_as_the_notebook_does(ex10):
    rng = np.random.default_rng(4)
    x, kernel = rng.standard_normal((7, 6, 2)), rng.standard_normal((3, 2, 2, 3))
    conv, backward, num = ex10["conv2d"], ex10["conv2d_backward"], ex10["numerical_gradient"]
    dout = rng.standard_normal(conv(x, kernel, None, 2, "same").shape)
    dx, dk, _ = backward(dout, x, kernel, 2, "same")
    np.testing.assert_allclose(
        num(lambda v: np.sum(conv(v, kernel, None, 2, "same") * dout), x), dx, atol=1e-7
    )
    np.testing.assert_allclose(
        num(lambda k: np.sum(conv(x, k, None, 2, "same") * dout), kernel), dk, atol=1e-7
    )


# --------------------------------------------------------------------------- notebook conventions


@pytest.mark.parametrize("exercise", sorted(CONTRACT))
def test_notebook_is_stored_clean(exercise):
    nb = _read(exercise)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert nb.metadata["kernelspec"] == {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    assert nb.metadata["cnn_grader"] == {"exercise": exercise}
    ids = [cell.id for cell in nb.cells]
    assert len(ids) == len(set(ids))
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell in code_cells:
        assert cell.outputs == [] and cell.execution_count is None, cell.id
    first = ast.parse(code_cells[0].source)
    assert first.body and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in first.body)


@pytest.mark.parametrize("exercise", sorted(CONTRACT))
def test_student_stubs_keep_signatures_and_raise(exercise):
    nb = _read(exercise)
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            region = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
            assert not any(
                line.strip().startswith(("import ", "from ")) for line in region.splitlines()
            )
    stubbed = _definitions(nb, transform=_stub)
    for name, signature in CONTRACT[exercise].items():
        fn = stubbed[name]
        assert str(inspect.signature(fn)) == signature
        assert inspect.getdoc(fn), f"{name} lost its docstring"
        args = [np.ones((6, 6, 2))] * len(
            [
                p
                for p in inspect.signature(fn).parameters.values()
                if p.default is inspect.Parameter.empty
            ]
        )
        with pytest.raises(NotImplementedError):
            fn(*args)
