"""The two ways a check ends other than passing, in a module of their own.

They live apart from `grader.checks.core` so that the comparisons (`grader.checks.expect`) need
nothing but NumPy and the standard library: the student release ships `expect.py` and this file
byte for byte, and its self-checks then fail with the very messages the grader writes.
"""

from __future__ import annotations


class Fail(Exception):
    """The student's answer is wrong; the message says how, for the student.

    `hint`, when given, replaces the check's own hint: the comparison found a cause of its own
    (a result at the wrong precision), and the check's hint (about padding, say) would mislead.
    """

    def __init__(self, message: str = "", *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class NotAttempted(Exception):
    """The student has not written this yet (missing name, or the stub still raises)."""
