"""Drivers: code that runs IN the student's kernel to use their callbacks and model functions.

Never imported by the grader as a module: `grader.checks.calls.Driver.from_file` sends this
source with the probe, which calls one function `drive_x(need, *args)` where `need(name)` looks
up a student name. A driver returns *data only* (numbers, strings, arrays, a model to save):
which epoch a callback stopped at, the settings a callback was made with. Every verdict is
computed in the grader. For the reference, the grader runs the same source against the
solution's namespace.

Only the standard library, NumPy and Keras are used, imported inside the functions.
"""


def _plain(value):
    """A value the probe can send back as it is; anything else as its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)[:200]


def drive_accuracy_threshold(need, scenarios):
    """For each scenario, attach a new `AccuracyThreshold(target)` to a tiny model and feed it
    epoch logs as `fit()` would; returns the epoch (1-based) after which training stopped, or
    None when it ran through every epoch."""
    import keras

    cls = need("AccuracyThreshold")
    tiny = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    stopped = []
    for scenario in scenarios:
        callback = cls(scenario["target"])
        tiny.stop_training = False
        callback.set_model(tiny)
        callback.on_train_begin({})
        after = None
        for epoch, (acc, val) in enumerate(
            zip(scenario["accuracy"], scenario["val_accuracy"], strict=False)
        ):
            callback.on_epoch_begin(epoch, {})
            callback.on_epoch_end(
                epoch,
                {
                    "loss": round(1.0 - acc, 4),
                    "accuracy": acc,
                    "val_loss": round(1.0 - val, 4),
                    "val_accuracy": val,
                },
            )
            if bool(tiny.stop_training):
                after = epoch + 1
                break
        stopped.append(after)
    return stopped


def drive_make_callbacks(need, checkpoint_path):
    """Describe what `make_callbacks(checkpoint_path)` returns: type and settings of each."""
    made = need("make_callbacks")(checkpoint_path)
    out = {"type": type(made).__name__, "items": []}
    if not isinstance(made, (list, tuple)):
        return out
    for callback in list(made)[:10]:
        cls = type(callback)
        item = {
            "class": cls.__name__,
            "module": cls.__module__,
            "keras_bases": [c.__name__ for c in cls.__mro__ if c.__module__.startswith("keras")][
                :8
            ],
        }
        for name in (
            "monitor",
            "patience",
            "restore_best_weights",
            "save_best_only",
            "filepath",
            "mode",
            "min_delta",
        ):
            item[name] = _plain(getattr(callback, name, None))
        out["items"].append(item)
    return out


def build_probe_model(spec, weights):
    """A small CNN from a plain layer list, with the weights the grader sent."""
    import keras
    import numpy as np

    layers = [keras.Input((28, 28, 1))]
    for item in spec:
        kind = item[0]
        if kind == "conv":
            layers.append(keras.layers.Conv2D(item[1], item[2], padding=item[3], activation="relu"))
        elif kind == "pool":
            layers.append(keras.layers.MaxPooling2D(item[1]))
        elif kind == "bn":
            layers.append(keras.layers.BatchNormalization())
        elif kind == "dropout":
            layers.append(keras.layers.Dropout(item[1]))
        elif kind == "flatten":
            layers.append(keras.layers.Flatten())
        elif kind == "dense":
            layers.append(keras.layers.Dense(item[1], activation="softmax"))
        else:
            raise ValueError("unknown layer kind %r" % (kind,))
    probe = keras.Sequential(layers)
    probe.set_weights([np.asarray(w, dtype="float32") for w in weights])
    return probe


def drive_activation_model(need, spec, weights):
    """`activation_model(model)` on the grader's small CNN; the probe saves what it returns."""
    return need("activation_model")(build_probe_model(spec, weights))


def drive_feature_maps(need, spec, weights, image):
    """`feature_maps(model, image)` on the grader's small CNN and a hidden image."""
    maps = need("feature_maps")(build_probe_model(spec, weights), image)
    return list(maps) if isinstance(maps, tuple) else maps


def drive_activation_outputs(need, spec, weights, image):
    """What `activation_model(model)` computes for one image on the grader's small CNN, as
    arrays (a public example compares them; the graded checks look at the model itself)."""
    import warnings

    import numpy as np

    act = need("activation_model")(build_probe_model(spec, weights))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' note on input structure; not the student's
        out = act(image[np.newaxis], training=False)
    if not isinstance(out, (list, tuple)):
        out = [out]
    return {"own": [np.asarray(o)[0] for o in out]}


def drive_feature_maps_public(need, spec, weights, image):
    """`feature_maps(model, image)` as a public example's answer."""
    return {"own": drive_feature_maps(need, spec, weights, image)}


def drive_trained_model(need, variable, build, parameters):
    """The trained model in `variable`, with what the grader needs to know about how it came
    about: the model the notebook's `build()` returns now (to compare architectures), the
    final values of the budget parameters, what the model's last fit() ran, and which of
    Keras' saving functions the notebook replaced (prelude.py kept the originals, which the
    probe saves with). Data only; the grader decides."""
    import sys

    out = {
        "model": need(variable),
        "built": None,
        "built_problem": "",
        "parameters": {},
        "fit": None,
        "saving_replaced": None,
    }
    try:
        out["built"] = need(build)()
    except NameError:
        out["built_problem"] = "%s is not defined" % build
    except NotImplementedError:
        out["built_problem"] = "%s still raises NotImplementedError" % build
    except Exception as exc:  # noqa: BLE001 - the student's function
        out["built_problem"] = "%s() raised %s: %s" % (build, type(exc).__name__, str(exc)[:200])
    for name in parameters:
        try:
            value = need(name)
        except NameError:
            continue
        if hasattr(value, "__index__") and not isinstance(value, bool):
            value = int(value.__index__())  # a NumPy integer is the same budget
        out["parameters"][name] = _plain(value)
    history = getattr(out["model"], "history", None)
    params = getattr(history, "params", None)
    if isinstance(params, dict):
        epoch = getattr(history, "epoch", None)
        out["fit"] = {
            "epochs": _plain(params.get("epochs")),
            "steps": _plain(params.get("steps")),
            "epochs_run": len(epoch) if isinstance(epoch, list) else None,
        }
    prelude = sys.modules.get("_cnn_grader_probe_prelude")
    training = getattr(prelude, "training", None)
    if callable(training):  # how this model was trained in this run (prelude.py)
        try:
            out["training"] = [
                {k: _plain(v) for k, v in r.items()} for r in training(out["model"])
            ][:200]
            out["weights_digest"] = prelude.digest(out["model"])
            out["iterations"] = prelude.iterations(out["model"])
            out["slots_digest"] = prelude.slots(out["model"])
        except Exception as exc:  # noqa: BLE001 - a record taken apart is itself evidence
            out["training"] = None
            out["training_problem"] = "%s: %s" % (type(exc).__name__, str(exc)[:200])
    changed = getattr(prelude, "changed", None)
    if callable(changed) and getattr(prelude, "save_model", None) is not None:
        try:
            out["saving_replaced"] = [str(x)[:100] for x in changed(out["model"])][:10]
        except Exception as exc:  # noqa: BLE001 - a kernel whose Keras was taken apart
            out["saving_replaced"] = ["(could not be looked up: %s)" % type(exc).__name__]
    return out
