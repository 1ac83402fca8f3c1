"""Drivers that judge a function apart from the graded functions it calls. Runs IN the kernel.

Never imported by the grader as a module: `grader.checks.calls.Driver` sends this source with
the probe (see grader/keras_support/kernel_drivers.py for the pattern). A function that calls
other graded functions (summarize → conv_output_size, conv2d_params, dense_params;
precision_recall_f1 → confusion_matrix; feature_maps → activation_model) is called twice: as
written, and with the grader's own versions of those helpers in place of the student's. The
grader gives the function full marks when either answer is right, so that a helper's mistake
costs the helper's checks only (one mistake, one deduction).

The grader's helpers below restate what the checks' hints already tell every student (the
formulas, `np.add.at`, the activation model's one line): no reference solution is ever sent
to a kernel. The driver returns data only; every verdict is computed in the grader, which runs
this same source against the reference namespace for the expected answer.

Only the standard library and NumPy (and Keras, for feature maps) are used.
"""

_MAX_ITEMS = 10_000  # as the probe: a generator is read this far and no further


def _copied(value):
    """A deep copy of arrays and containers: each run gets inputs of its own."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


def _materialised(value, depth=0):
    """Generators, maps and zips as their items (bounded), so that both answers can be kept."""
    import itertools
    import types

    if depth > 20:
        return value
    if isinstance(value, (types.GeneratorType, map, zip, filter)):
        items = list(itertools.islice(value, _MAX_ITEMS + 1))
        if len(items) > _MAX_ITEMS:
            raise ValueError(
                "a generator of more than %d items is longer than the grader reads" % _MAX_ITEMS
            )
        value = items
    if isinstance(value, list):
        return [_materialised(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_materialised(v, depth + 1) for v in value)
    return value


def _with_globals(func, namespace):
    import types

    new = types.FunctionType(
        func.__code__, namespace, func.__name__, func.__defaults__, func.__closure__
    )
    new.__kwdefaults__ = func.__kwdefaults__
    new.__qualname__ = func.__qualname__
    new.__dict__.update(func.__dict__)
    return new


def _rebind(func, helpers):
    """`func` seeing `helpers` instead of the names it had, and so does every function defined
    beside it (a student's own helper that calls conv2d_params gets the grader's too). The
    notebook's namespace itself is left as it is: a copy is changed. None when `func` is not a
    plain function."""
    import types

    if not isinstance(func, types.FunctionType):
        return None
    old = func.__globals__
    new = dict(old)
    for key, value in old.items():
        if isinstance(value, types.FunctionType) and value.__globals__ is old:
            new[key] = _with_globals(value, new)
    new.update(helpers)
    return _with_globals(func, new)


def _run(func, args, kwargs):
    try:
        return True, _materialised(func(*_copied(args), **_copied(kwargs)))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported as data, or re-raised
        return False, exc


def _error(exc):
    return ("%s: %s" % (type(exc).__name__, exc))[:500]


def _both(need, name, helpers, args, kwargs):
    """{"own": answer as written, "with_reference": answer with the grader's helpers, and
    "own_error" / "with_reference_error" where a run raised}. When both runs raise, the
    student's own exception is raised, as the probe would see it without a driver."""
    func = need(name)
    ok_own, own = _run(func, args, kwargs)
    swapped = _rebind(func, helpers)
    if swapped is None:
        if not ok_own:
            raise own
        return {"own": own}
    ok_ref, with_reference = _run(swapped, args, kwargs)
    if not ok_own and not ok_ref:
        raise own
    out = {"own": own if ok_own else None, "with_reference": with_reference if ok_ref else None}
    if not ok_own:
        out["own_error"] = _error(own)
    if not ok_ref:
        out["with_reference_error"] = _error(with_reference)
    return out


# -- the grader's helpers: the formulas of the hints -------------------------------------------


def _conv_output_size(n, kernel_size, stride=1, padding="valid"):
    n, kernel_size, stride = int(n), int(kernel_size), int(stride)
    if str(padding).lower() == "same":
        return -(-n // stride)
    if str(padding).lower() != "valid":
        raise ValueError('padding must be "valid" or "same", got %r' % (padding,))
    return (n - kernel_size) // stride + 1


def _conv2d_params(kernel_size, in_channels, filters, use_bias=True):
    import numpy as np

    if np.ndim(kernel_size) == 0:
        kh = kw = int(kernel_size)
    else:
        kh, kw = (int(k) for k in kernel_size)
    return (kh * kw * int(in_channels) + (1 if use_bias else 0)) * int(filters)


def _dense_params(in_features, units, use_bias=True):
    return (int(in_features) + (1 if use_bias else 0)) * int(units)


def _confusion_matrix(y_true, y_pred, num_classes):
    import numpy as np

    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(
        matrix,
        (np.asarray(y_true).astype(np.int64).ravel(), np.asarray(y_pred).astype(np.int64).ravel()),
        1,
    )
    return matrix


def _activation_model(model):
    import keras

    outputs = [
        layer.output
        for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D))
    ]
    return keras.Model(inputs=model.inputs, outputs=outputs)


# -- the drivers -------------------------------------------------------------------------------


def drive_summarize(need, layers, input_shape):
    """`summarize(layers, input_shape)`, as written and with the grader's size and count helpers."""
    return _both(
        need,
        "summarize",
        {
            "conv_output_size": _conv_output_size,
            "conv2d_params": _conv2d_params,
            "dense_params": _dense_params,
        },
        (layers, input_shape),
        {},
    )


def drive_precision_recall_f1(need, y_true, y_pred, num_classes):
    """`precision_recall_f1(...)`, as written and with the grader's confusion_matrix."""
    return _both(
        need,
        "precision_recall_f1",
        {"confusion_matrix": _confusion_matrix},
        (y_true, y_pred, num_classes),
        {},
    )


def drive_feature_maps_both(need, spec, weights, image):
    """`feature_maps(model, image)` on the grader's small CNN, as written and with the grader's
    activation_model. Sent after grader/keras_support/kernel_drivers.py (its build_probe_model)."""
    model = build_probe_model(spec, weights)  # noqa: F821 - defined by the source sent before

    def listed(maps):
        return list(maps) if isinstance(maps, tuple) else maps

    out = _both(need, "feature_maps", {"activation_model": _activation_model}, (model, image), {})
    return {k: listed(v) for k, v in out.items()}
