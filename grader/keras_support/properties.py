"""Models judged by properties rather than one exact architecture (ex06, ex11): each
requirement is checked on the model's description and listed in the report's table.

    ex.check(points=1, call=BUILD, id=...)(property_check(augmentation))

where `augmentation(info)` returns the `Property` list for one check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from grader.checks.core import Context, Fail
from grader.keras_support import architecture as arch
from grader.keras_support.checks import student_model


@dataclass(frozen=True)
class Property:
    requirement: str
    ok: bool
    found: str


def labels(layers: Iterable[arch.LayerInfo]) -> str:
    """The layers as the report shows them, or "none"."""
    return ", ".join(x.label() for x in layers) or "none"


def softmax_output(info: arch.ModelInfo) -> Property:
    """The course's ten-class output layer."""
    last = info.layers[-1] if info.layers else None
    return Property("output layer Dense(10, softmax)",
                    last is not None and last.kind == "Dense"
                    and last.settings.get("units") == 10
                    and last.settings.get("activation") == "softmax",
                    last.label() if last else "none")


def table(props: list[Property]) -> list[list[Any]]:
    """The report's requirement / your model table."""
    return [["requirement", "your model"]] + [
        [p.requirement, {"text": p.found, "status": "ok" if p.ok else "bad"}] for p in props]


def property_check(pick: Callable[[arch.ModelInfo], list[Property]]) -> Any:
    """A check that the model the call returned has every property `pick` lists."""
    def check(got: Any, ctx: Context) -> None:
        props = pick(arch.describe(student_model(got, what=ctx.text)))
        ctx.extras["table"] = table(props)
        bad = [p for p in props if not p.ok]
        if bad:
            raise Fail(f"{ctx.text}: the model lacks "
                       + "; ".join(f"{p.requirement} (found: {p.found})" for p in bad))
    return check
