"""Code that runs *inside the student's kernel*, after the notebook, to call student functions.

This file is never imported by the grader: its source is sent to the kernel as a cell. It only
produces data: a JSON record per call and `.npy` / `.keras` files beside it. It decides nothing.
Everything it writes is read back by `grader.probe.evidence` as untrusted input, so nothing
here needs to be (or can be) trusted: a student who tampers with it only corrupts their own
evidence, which then fails validation.

Only the standard library and NumPy are used; Keras is touched only when a value is a model.
"""

import itertools as _itertools
import json as _json
import os as _os
import sys as _sys
import time as _time
import traceback as _traceback
import types as _types

import numpy as _np

_MAX_ARRAY_BYTES = 64 * 1024 * 1024
_MAX_ITEMS = 10_000
_MISSING = object()


class Probe:
    def __init__(self, namespace, probe_dir):
        self.ns = namespace
        self.dir = probe_dir
        self.out = _os.path.join(probe_dir, "out")
        with open(_os.path.join(probe_dir, "calls.json"), encoding="utf-8") as fh:
            self.calls = _json.load(fh)

    # -- inputs -------------------------------------------------------------------------
    def _decode(self, v):
        if isinstance(v, dict):
            if "__ndarray__" in v:
                return _np.load(_os.path.join(self.dir, "in", v["__ndarray__"]), allow_pickle=False)
            if "__tuple__" in v:
                return tuple(self._decode(x) for x in v["__tuple__"])
            return {k: self._decode(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self._decode(x) for x in v]
        return v

    # -- outputs ------------------------------------------------------------------------
    def _encode(self, v, key, files, depth=0):
        if depth > 20:
            raise ValueError("the value is nested too deeply")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
                return {"__float__": repr(v)}
            if isinstance(v, int) and abs(v) > 2**62:
                return {"__bigint__": str(v)}
            return v
        if isinstance(v, (_np.ndarray, _np.generic)):
            arr = _np.asarray(v)
            if arr.dtype.kind not in "biufc":
                raise ValueError("an array of dtype %s (expected numbers)" % arr.dtype)
            if arr.nbytes > _MAX_ARRAY_BYTES:
                raise ValueError(
                    "an array of %d bytes is larger than the grader reads" % arr.nbytes
                )
            name = "%s__%d.npy" % (key, len(files))
            _np.save(_os.path.join(self.out, name), arr, allow_pickle=False)
            files.append(name)
            return {"__ndarray__": name, "scalar": isinstance(v, _np.generic)}
        if isinstance(v, (_types.GeneratorType, map, zip, filter)):
            # `yield` or `return zip(shapes, params)`: one item per layer all the same
            items = list(_itertools.islice(v, _MAX_ITEMS + 1))
            if len(items) > _MAX_ITEMS:
                raise ValueError(
                    "a generator of more than %d items is longer than the grader reads" % _MAX_ITEMS
                )
            return self._encode(items, key, files, depth)
        if isinstance(v, (list, tuple)):
            if len(v) > _MAX_ITEMS:
                raise ValueError("a sequence of %d items is longer than the grader reads" % len(v))
            items = [self._encode(x, key, files, depth + 1) for x in v]
            return {"__tuple__": items} if isinstance(v, tuple) else items
        if isinstance(v, dict):
            return {
                "__dict__": [
                    [self._encode(k, key, files, depth + 1), self._encode(x, key, files, depth + 1)]
                    for k, x in v.items()
                ]
            }
        keras = _sys.modules.get("keras")
        if keras is not None and isinstance(v, keras.Model):
            name = "%s__%d.keras" % (key, len(files))
            # Keras' own saving function as it was before the notebook ran (prelude.py): a
            # notebook that replaces keras.Model.save does not choose what is saved.
            prelude = _sys.modules.get("_cnn_grader_probe_prelude")
            save = getattr(prelude, "save_model", None)
            if callable(save):
                save(v, _os.path.join(self.out, name))
            else:
                v.save(_os.path.join(self.out, name))
            files.append(name)
            return {"__keras__": name}
        if keras is not None and isinstance(v, keras.callbacks.Callback):
            return {
                "__object__": type(v).__name__,
                "module": type(v).__module__,
                "mro": [c.__name__ for c in type(v).__mro__][:12],
            }
        if hasattr(v, "__array__") and hasattr(v, "shape"):  # tensors and friends
            return self._encode(_np.asarray(v), key, files, depth)
        return {"__object__": type(v).__name__, "module": type(v).__module__}

    # -- drivers: grader code that uses student code and returns data -----------------
    def _driver(self, spec):
        env = {"__name__": "cnn_grader_driver_" + spec["driver"]}
        exec(compile(spec["driver_source"], "<driver %s>" % spec["driver"], "exec"), env)
        return env[spec["driver"]]

    def _need(self, name):
        value = self.ns.get(name, _MISSING)
        if value is _MISSING:
            raise NameError("name %r is not defined" % name)
        return value

    # -- one call -----------------------------------------------------------------------
    def run(self, key):
        spec = self.calls[key]
        record = {"key": key, "name": spec["name"]}
        t0 = _time.perf_counter()
        target = self.ns.get(spec["name"], _MISSING)
        value = _MISSING
        if target is _MISSING:
            record["status"] = "missing"
        elif spec["kind"] == "get":
            value = target
            record["status"] = "returned"
        elif not callable(target):
            record["status"] = "not_callable"
            record["type"] = type(target).__name__
        else:
            try:
                args = self._decode(spec["args"])
                kwargs = self._decode(spec["kwargs"])
                if spec["kind"] == "driver":
                    value = self._driver(spec)(self._need, *args, **kwargs)
                else:
                    value = target(*args, **kwargs)
                record["status"] = "returned"
            except NotImplementedError as exc:
                record["status"] = "stub"
                record["error"] = {"type": type(exc).__name__, "message": str(exc)[:500]}
            except (Exception, SystemExit) as exc:
                record["status"] = "raised"
                # Skip this frame: the student's own frames are what helps them.
                tb = _traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next)
                record["error"] = {
                    "type": type(exc).__name__,
                    "message": str(exc)[:1000],
                    "traceback": "".join(tb[-3:])[-2000:],
                }
        record["duration_s"] = _time.perf_counter() - t0
        if value is not _MISSING:
            files = []
            try:
                record["value"] = self._encode(value, key, files)
            except Exception as exc:
                record["status"] = "unreadable"
                record["error"] = {"type": type(exc).__name__, "message": str(exc)[:500]}
            record["files"] = files
        with open(_os.path.join(self.out, key + ".json"), "w", encoding="utf-8") as fh:
            _json.dump(record, fh)
