"""Judgements shared by a graded check and its public self-check, on plain data.

Some exercises ask for kinds of things rather than one exact answer: a model with augmentation
layers first, batch normalisation and a dropout rate in a range (ex06, ex11); callbacks with
stated settings; a callback that stops training at the right epoch (ex06). The graded check and
the self-check cell judge them with the functions here, so a student reads the same verdict in
the same words in both places:

- `properties(description, rules)`: a model's description (`models.describe`) against rules
  written as data in the exercise (`{"rule": "any", "classes": ["Dropout"], "range": {...}}`);
- `callbacks(described, required, what=...)`: what `make_callbacks` returned, as a kernel
  driver describes it, against the settings the exercise asks for;
- `stops(stopped, scenarios)`: after which epoch a callback stopped each scripted training.

Each returns the problems (the student's messages) and the report's table. Shipped in the
student release as `cnn_selfcheck/selfcheck/judges.py`: the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Layer = dict[str, Any]  # {"class": "Conv2D", "label": ..., "filters": 32, ...}: models.plain

# Keras' image augmentation layers: random in training, the identity at inference.
AUGMENTATION_EXTRA = frozenset({"AugMix", "RandAugment", "MixUp", "CutMix", "Solarization"})


def label(layer: Layer) -> str:
    """How a student would write the layer, as the description labels it
    (description.LayerInfo.label, carried by models.plain)."""
    return str(layer.get("label") or layer.get("class", "?"))


def labels(layers: list[Layer]) -> str:
    return ", ".join(label(x) for x in layers) or "none"


def is_augmentation(layer: Layer) -> bool:
    kind = str(layer.get("class", ""))
    return kind.startswith("Random") or kind in AUGMENTATION_EXTRA


def leading(layers: list[Layer], also: tuple[str, ...] = ("Rescaling",)) -> list[Layer]:
    """The augmentation layers (and pixel scaling) a model starts with, up to its first other
    layer: where augmentation belongs, so that every later layer learns from it."""
    out = []
    for each in layers:
        if not (is_augmentation(each) or each.get("class") in also):
            break
        out.append(each)
    return out


def conv_blocks(layers: list[Layer]) -> list[list[Layer]]:
    """The Conv2D → BatchNormalization → MaxPooling2D blocks, in order: each a run of layers
    ending in a MaxPooling2D that holds a Conv2D followed, within the run, by a
    BatchNormalization (Conv-BN-Conv-BN-Pool is one block)."""
    blocks, run = [], []
    for each in layers:
        run.append(each)
        if each.get("class") != "MaxPooling2D":
            continue
        kinds = [x.get("class") for x in run]
        if "Conv2D" in kinds and "BatchNormalization" in kinds[kinds.index("Conv2D") :]:
            blocks.append(run[kinds.index("Conv2D") :])
        run = []
    return blocks


def _has_l2(layer: Layer) -> bool:
    reg = layer.get("kernel_regularizer")
    if not isinstance(reg, list) or not reg:
        return False
    return reg[0] == "L2" or (reg[0] == "L1L2" and len(reg) == 3 and float(reg[2]) > 0)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


# -- the rules: each (description, rule) → (holds, what the model has) -----------------------
def _any(desc: dict[str, Any], rule: dict[str, Any]) -> tuple[bool, str]:
    layers = [x for x in desc["layers"] if x.get("class") in rule["classes"]]
    ok = [
        x
        for x in layers
        if all(x.get(k) == v for k, v in rule.get("where", {}).items())
        and all(lo <= _number(x.get(k)) <= hi for k, (lo, hi) in rule.get("range", {}).items())
    ]
    return bool(ok), labels(layers)


def _count(desc: dict[str, Any], rule: dict[str, Any]) -> tuple[bool, str]:
    layers = [x for x in desc["layers"] if x.get("class") in rule["classes"]]
    return len(layers) >= rule.get("at_least", 1), str(len(layers))


def _input(desc: dict[str, Any], rule: dict[str, Any]) -> tuple[bool, str]:
    shape = desc.get("input_shape")
    shown = "(" + ", ".join(str(d) for d in shape) + ")" if isinstance(shape, list) else "none"
    return shape == list(rule["shape"]), shown


def _output(desc: dict[str, Any], rule: dict[str, Any]) -> tuple[bool, str]:
    last = desc["layers"][-1] if desc["layers"] else None
    ok = (
        last is not None
        and last.get("class") == "Dense"
        and last.get("units") == rule["units"]
        and last.get("activation") == "softmax"
    )
    return ok, label(last) if last else "none"


def _hidden_l2(desc: dict[str, Any], rule: dict[str, Any]) -> tuple[bool, str]:
    dense = [x for x in desc["layers"] if x.get("class") == "Dense"]
    hidden = dense[:-1] if desc["layers"] and desc["layers"][-1].get("class") == "Dense" else dense
    return any(_has_l2(x) for x in hidden), labels(hidden)


def _augmentation_first(desc: dict[str, Any], rule: dict[str, Any]) -> tuple[bool, str]:
    first = leading(desc["layers"])
    later = [x for x in desc["layers"] if is_augmentation(x) and not any(x is f for f in first)]
    ok = bool(first) and not later and any(is_augmentation(x) for x in first)
    return ok, f"first layers: {labels(first)}" + (f"; later: {labels(later)}" if later else "")


def _blocks(desc: dict[str, Any], rule: dict[str, Any]) -> tuple[bool, str]:
    blocks = conv_blocks(desc["layers"])
    return (
        len(blocks) >= rule.get("at_least", 1),
        f"{len(blocks)}" + (": " + " | ".join(labels(b) for b in blocks) if blocks else ""),
    )


RULES: dict[str, Callable[[dict[str, Any], dict[str, Any]], tuple[bool, str]]] = {
    "any": _any,
    "count": _count,
    "input": _input,
    "output": _output,
    "hidden_l2": _hidden_l2,
    "augmentation_first": _augmentation_first,
    "blocks": _blocks,
}


def properties(desc: dict[str, Any], rules: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """(requirement, holds, what the model has) for each rule."""
    out = []
    for rule in rules:
        ok, found = RULES[rule["rule"]](desc, rule)
        out.append((rule["says"], ok, found))
    return out


def lacks(what: str, props: list[tuple[str, bool, str]]) -> list[str]:
    """The student's message for the properties that do not hold ([] when all do)."""
    bad = [f"{req} (found: {found})" for req, ok, found in props if not ok]
    return [f"{what}: the model lacks " + "; ".join(bad)] if bad else []


def properties_table(props: list[tuple[str, bool, str]]) -> list[list[Any]]:
    return [["requirement", "your model"]] + [
        [req, {"text": found, "status": "ok" if ok else "bad"}] for req, ok, found in props
    ]


# -- callbacks -------------------------------------------------------------------------------
def callbacks(
    got: Any, required: dict[str, dict[str, Any]], *, what: str
) -> tuple[list[str], list[list[Any]]]:
    """What a callbacks factory returned (described by a kernel driver: type, and per item its
    class, Keras base classes and settings) against the settings each required class needs."""
    if not isinstance(got, dict) or not isinstance(got.get("items"), list):
        return [f"{what}: the grader could not read what it returned"], []
    if got.get("type") not in ("list", "tuple"):
        return [
            f"{what}: expected a list of {len(required)} callbacks, got a {got.get('type')}"
        ], []
    items = [i for i in got["items"] if isinstance(i, dict)]
    rows: list[list[Any]] = [["callback", "setting", "expected", "yours"]]
    problems = []
    for cls, settings in required.items():
        match = next((i for i in items if cls in (i.get("keras_bases") or [])), None)
        if match is None:
            problems.append(f"no keras.callbacks.{cls} in the list")
            rows.append([cls, "", "", {"text": "— missing —", "status": "bad"}])
            continue
        for name, want in settings.items():
            have = match.get(name)
            ok = have == want
            rows.append(
                [cls, name, repr(want), {"text": repr(have), "status": "ok" if ok else "bad"}]
            )
            if not ok:
                problems.append(
                    f"{cls}: {name} is {have!r}, expected {want!r}"
                    + (" (use the checkpoint_path argument)" if name == "filepath" else "")
                )
    if len(items) != len(required):
        problems.append(
            f"the list has {len(items)} callbacks "
            f"({', '.join(str(i.get('class')) for i in items)}), expected "
            f"{len(required)}"
        )
    return ([f"{what}: " + "; ".join(problems)] if problems else []), rows


# -- a callback that stops training -----------------------------------------------------------
def _ran(stop: Any, epochs: int) -> str:
    return f"all {epochs} epochs" if stop is None else f"stopped after epoch {stop}"


def stops(
    got: Any, scenarios: list[dict[str, Any]], *, what: str
) -> tuple[list[str], list[list[Any]]]:
    """After which epoch (1-based; None: it ran them all) training stopped in each scenario
    ({"target", "accuracy", "val_accuracy", "stop"}), against when it should have."""
    if (
        not isinstance(got, list)
        or len(got) != len(scenarios)
        or not all(g is None or (isinstance(g, int) and not isinstance(g, bool)) for g in got)
    ):
        return [f"{what}: the grader could not read which epochs ran ({got!r:.100})"], []
    rows: list[list[Any]] = [
        ["target", "training accuracy per epoch", "val_accuracy", "expected", "yours"]
    ]
    problems = []
    for s, have in zip(scenarios, got, strict=False):
        acc, val, want = s["accuracy"], s["val_accuracy"], s["stop"]
        ok = have == want
        rows.append(
            [
                f"{s['target']:g}",
                ", ".join(f"{a:g}" for a in acc),
                ", ".join(f"{v:g}" for v in val),
                _ran(want, len(acc)),
                {"text": _ran(have, len(acc)), "status": "ok" if ok else "bad"},
            ]
        )
        if not ok:
            problems.append(
                f"AccuracyThreshold({s['target']:g}) with training accuracy "
                f"{', '.join(f'{a:g}' for a in acc)} per epoch: expected "
                f"{_ran(want, len(acc))}, it "
                f"{_ran(have, len(acc)).replace('all', 'ran all')}"
            )
    return problems, rows


JUDGES: dict[str, Callable[..., tuple[list[str], list[list[Any]]]]] = {
    "callbacks": lambda got, params, what: callbacks(got, params, what=what),
    "stops": lambda got, params, what: stops(got, params, what=what),
}


def judge(name: str, got: Any, params: Any, *, what: str) -> tuple[list[str], list[list[Any]]]:
    """A named judgement (the public case says which) of a driver's data."""
    return JUDGES[name](got, params, what)
