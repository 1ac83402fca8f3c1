# Start-up code of a training exercise's kernel: it runs before any cell of the notebook.
#
# Never imported by the grader: the file is copied into the grader's cache and named by the
# kernel's `PYTHONSTARTUP`, which IPython runs in a new kernel before its first cell (and again
# in every kernel restarted after a crash). It leaves no name in the notebook's namespace and
# imports nothing heavy: it waits for the notebook's own `import keras`, then
#
# - keeps Keras' saving functions as they were before any student code ran, in the module
#   `_cnn_grader_probe_prelude` (`save_model`), so the probe saves the model the notebook holds
#   with them, whatever the notebook did to `keras.Model.save` or `keras.saving`; `changed(model)`
#   names the saving entry points the notebook replaced since (data for a finding); under a
#   backend other than TensorFlow, `save_model` refuses Keras' `import tensorflow` while it
#   saves (grader.backends: the grader never loads TensorFlow where it is not the backend);
# - has `keras.datasets.mnist.load_data()` accept the grader's mnist.npz, which holds only half of
#   the test split: Keras pins the official file's sha256, so the grader's copy is accepted by the
#   sha256 the grader gives in `CNN_GRADER_SERVED_MNIST_SHA256` instead (any other file is still
#   refused, as Keras would);
# - has `keras.datasets.cifar10.load_data()` read the folder the grader extracted into the
#   kernel's Keras home (training batches, half the test batch; `grader/cifar10_files.py`) when
#   it holds the grader's marker, instead of checking the official archive's pinned hash and
#   extracting it again (offline, into a folder the kernel may not write, shared by kernels);
# - records how each model was trained in this run (`training(model)`): every `fit()` and
#   `train_on_batch()` call wraps Keras' own, and leaves the epochs and steps it ran, the size of
#   its data, the optimizer's step counter, and a digest of the weights at the end of every epoch
#   and of the call; `digest(model)` is that digest of the weights now. The grader compares them
#   (grader/keras_support/provenance.py): weights set after training, brought in without
#   training, or trained past the budget are findings there, never decided here.
#
# A notebook can undo all of this in its own kernel (it runs arbitrary code there); it then only
# loses what these protect, since the grader saves, loads and judges nothing on trust.
#
# (Comments, not a docstring: the file runs in the notebook's namespace, where a docstring
# would become its __doc__.)


def _cnn_grader_prelude():
    import importlib.abc
    import importlib.util
    import os
    import sys
    import types

    state = types.ModuleType("_cnn_grader_probe_prelude")
    state.__doc__ = "cnn-grader: Keras' saving functions as they were before the notebook ran"
    state.originals = {}
    state.save_model = None
    state.error = ""
    sys.modules["_cnn_grader_probe_prelude"] = state
    official_mnist = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    served_mnist = os.environ.get("CNN_GRADER_SERVED_MNIST_SHA256", "")
    official_cifar10 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"

    def current(keras):
        """The saving entry points, looked up as a notebook would call them."""
        from keras.src.saving import saving_api, saving_lib

        return {
            "keras.Model.save": getattr(keras.Model, "save", None),
            "keras.Sequential.save": getattr(keras.Sequential, "save", None),
            "keras.saving.save_model": getattr(keras.saving, "save_model", None),
            "keras.models.save_model": getattr(keras.models, "save_model", None),
            "keras.src.saving.saving_api.save_model": getattr(saving_api, "save_model", None),
            "keras.src.saving.saving_lib.save_model": getattr(saving_lib, "save_model", None),
        }

    def changed(model=None):
        keras = sys.modules.get("keras")
        if keras is None or not state.originals:
            return []
        now = current(keras)
        out = [name for name, fn in state.originals.items() if now.get(name) is not fn]
        if model is not None:
            if "save" in getattr(model, "__dict__", {}):
                out.append("the model's own save attribute")
            elif (
                getattr(type(model), "save", None) is not state.originals["keras.Model.save"]
                and "keras.Model.save" not in out
            ):
                out.append(f"{type(model).__name__}.save")
        return out

    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname == "tensorflow" or fullname.startswith("tensorflow."):
                raise ModuleNotFoundError("not while the grader saves a model", name=fullname)
            return None

    def without_tensorflow(keras, save):
        """Keras' `save` for the probe. Keras tries `import tensorflow` while saving, whatever
        its backend (to recognise TensorFlow types); under JAX or PyTorch that import is
        refused while the probe saves, as if TensorFlow were not installed, so that the
        grader never loads it into a kernel that does not train with it."""
        try:
            backend = keras.backend.backend()
        except Exception:  # noqa: BLE001 - a Keras without it: saved as it is
            return save
        if backend == "tensorflow":
            return save

        def save_model(model, filepath, *args, **kwargs):
            if "tensorflow" in sys.modules:  # the notebook imported it: nothing to spare
                return save(model, filepath, *args, **kwargs)
            blocker = NoTensorFlow()
            sys.meta_path.insert(0, blocker)
            try:
                return save(model, filepath, *args, **kwargs)
            finally:
                try:
                    sys.meta_path.remove(blocker)
                except ValueError:
                    pass

        return save_model

    def on_keras(keras):
        from keras.src.saving import saving_lib

        state.originals = current(keras)
        state.save_model = without_tensorflow(keras, saving_lib.save_model)
        try:
            state.wrap_training(keras)
        except Exception as exc:  # noqa: BLE001 - the record is evidence, not a requirement
            state.error = f"wrapping fit: {type(exc).__name__}: {exc}"[:300]
        if served_mnist:
            from keras.src.datasets import mnist

            real_get_file = mnist.get_file

            def get_file(fname=None, origin=None, file_hash=None, **kwargs):
                if fname == "mnist.npz" and file_hash == official_mnist:
                    file_hash = served_mnist
                return real_get_file(fname=fname, origin=origin, file_hash=file_hash, **kwargs)

            mnist.get_file = get_file

        from keras.src.datasets import cifar10

        real_cifar_get_file = cifar10.get_file

        def cifar_get_file(fname=None, origin=None, file_hash=None, **kwargs):
            if fname == "cifar-10-batches-py-target" and file_hash == official_cifar10:
                from keras.src.backend import config

                home = os.path.expanduser(kwargs.get("cache_dir") or config.keras_home())
                served = os.path.join(home, kwargs.get("cache_subdir") or "datasets", fname)
                if os.path.isfile(os.path.join(served, ".cnn-grader-served")):
                    return served
            return real_cifar_get_file(fname=fname, origin=origin, file_hash=file_hash, **kwargs)

        cifar10.get_file = cifar_get_file

    class AfterKerasImport(importlib.abc.MetaPathFinder):
        """Runs `on_keras` once the notebook's `import keras` has finished."""

        busy = False

        def find_spec(self, fullname, path=None, target=None):
            if fullname != "keras" or self.busy:
                return None
            self.busy = True
            try:
                spec = importlib.util.find_spec(fullname)
            finally:
                self.busy = False
            if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
                return None
            finder, loader = self, spec.loader
            exec_module = loader.exec_module

            def exec_then_capture(module):
                exec_module(module)
                try:
                    sys.meta_path.remove(finder)
                except ValueError:
                    pass
                try:
                    on_keras(module)
                except Exception as exc:  # noqa: BLE001 - never break the notebook's import
                    state.error = f"{type(exc).__name__}: {exc}"[:300]

            loader.exec_module = exec_then_capture
            return spec

    state.records = {}

    def digest(model):
        import hashlib

        import numpy as np

        h = hashlib.sha256()
        for w in model.weights:
            value = w.numpy() if hasattr(w, "numpy") else w
            h.update(np.ascontiguousarray(np.asarray(value)).tobytes())
        return h.hexdigest()[:32]

    def slots(model):
        """A digest of the optimizer's state besides its step counter (Adam's moments, the
        learning rate): None where there is no optimizer with variables."""
        import hashlib

        import numpy as np

        try:
            variables = [
                v
                for v in model.optimizer.variables
                if "iteration" not in str(getattr(v, "name", ""))
            ]
        except Exception:  # noqa: BLE001 - not compiled, or another backend's optimizer
            return None
        if not variables:
            return None
        h = hashlib.sha256()
        for v in variables:
            value = v.numpy() if hasattr(v, "numpy") else v
            h.update(np.ascontiguousarray(np.asarray(value)).tobytes())
        return h.hexdigest()[:32]

    def iterations(model):
        try:
            return int(model.optimizer.iterations.numpy())
        except Exception:  # noqa: BLE001 - not compiled, or another backend's counter
            return None

    def size(x):
        try:
            return int(len(x))
        except Exception:  # noqa: BLE001 - a dataset or generator: its length is unknown
            return None

    def training(model):
        return state.records.get(id(model), [])

    def wrap_training(keras):
        model_class = keras.Model
        real_fit = model_class.fit
        real_batch = model_class.train_on_batch

        class Recorder(keras.callbacks.Callback):
            def __init__(self, record):
                super().__init__()
                self.record = record

            def on_epoch_end(self, epoch, logs=None):
                self.record["epoch_digests"].append(digest(self.model))

        def fit(self, x=None, y=None, *args, **kwargs):
            record = {
                "call": "fit",
                "samples": size(x),
                "batch_size": kwargs.get("batch_size"),
                "validation_split": kwargs.get("validation_split"),
                "epoch_digests": [],
            }
            callbacks = list(kwargs.get("callbacks") or [])
            kwargs["callbacks"] = callbacks + [Recorder(record)]
            history = real_fit(self, x, y, *args, **kwargs)
            try:
                params = getattr(history, "params", None) or {}
                ran = len(getattr(history, "epoch", None) or [])
                steps = params.get("steps")
                record.update(
                    epochs=ran,
                    steps_per_epoch=steps,
                    steps=steps * ran if isinstance(steps, int) else None,
                    digest=digest(self),
                    iterations=iterations(self),
                    slots=slots(self),
                )
                record["epoch_digests"] = record["epoch_digests"][-50:]
                state.records.setdefault(id(self), []).append(record)
            except Exception as exc:  # noqa: BLE001 - never break the notebook's training
                state.error = f"recording fit: {type(exc).__name__}: {exc}"[:300]
            return history

        def train_on_batch(self, *args, **kwargs):
            out = real_batch(self, *args, **kwargs)
            try:
                records = state.records.setdefault(id(self), [])
                if not records or records[-1]["call"] != "train_on_batch":
                    records.append(
                        {"call": "train_on_batch", "steps": 0, "epochs": 0, "epoch_digests": []}
                    )
                records[-1]["steps"] += 1
                records[-1]["digest"] = digest(self)
                records[-1]["iterations"] = iterations(self)
                records[-1]["slots"] = slots(self)
            except Exception as exc:  # noqa: BLE001 - the student's code must run on; the grader reads the error
                state.error = f"recording train_on_batch: {type(exc).__name__}: {exc}"[:300]
            return out

        fit.__wrapped__ = real_fit
        train_on_batch.__wrapped__ = real_batch
        model_class.fit = fit
        model_class.train_on_batch = train_on_batch

    state.changed = changed
    state.digest = digest
    state.training = training
    state.iterations = iterations
    state.slots = slots
    state.wrap_training = wrap_training
    if "keras" in sys.modules:  # imported before the notebook ran (never, in a fresh kernel)
        try:
            on_keras(sys.modules["keras"])
        except Exception as exc:  # noqa: BLE001 - the student's code must run on; the grader reads the error
            state.error = f"{type(exc).__name__}: {exc}"[:300]
    else:
        sys.meta_path.insert(0, AfterKerasImport())


_cnn_grader_prelude()
del _cnn_grader_prelude
