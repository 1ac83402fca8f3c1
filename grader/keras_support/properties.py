"""Models judged by properties rather than one exact architecture (ex06, ex11): each
requirement is a rule written as data in the exercise, checked on the model's description and
listed in the report's table.

    AUGMENTATION = [{"rule": "any", "classes": ["RandomFlip"], "where": {"mode": "horizontal"},
                     "says": "RandomFlip('horizontal')"}, ...]
    ex.check(points=1, call=BUILD, id=...)(property_check(AUGMENTATION))
    ex.public_properties[id] = AUGMENTATION

The description (grader.selfcheck.description, read through models.plain) and the rules
(grader.selfcheck.judges) are the code the student release ships, so the self-check cell
`check(build_cnn)` reads a model the way this check does and says the same thing.
"""

from __future__ import annotations

from typing import Any

from grader.checks.core import Context, Fail
from grader.keras_support.checks import student_model
from grader.selfcheck import judges
from grader.selfcheck.description import describe
from grader.selfcheck.models import plain


def judged(
    got: Any, ctx: Context, rules: list[dict[str, Any]]
) -> tuple[list[tuple[str, bool, str]], list[str]]:
    """(properties, the student's messages) of the model the call returned."""
    props = judges.properties(plain(describe(student_model(got, what=ctx.text))), rules)
    ctx.extras["table"] = judges.properties_table(props)
    return props, judges.lacks(ctx.text, props)


def property_check(rules: list[dict[str, Any]]) -> Any:
    """A check that the model the call returned holds every rule."""

    def check(got: Any, ctx: Context) -> None:
        _, problems = judged(got, ctx, rules)
        if problems:
            raise Fail(problems[0])

    return check
