"""Errors the grader raises, arranged by whose problem they are.

::

    GraderError
    ├── SubmissionError          the student's file cannot be graded as it is
    │   └── InvalidNotebook        not JSON, not a notebook, unreadable
    ├── ConfigurationError       the instructor's setup is wrong or incomplete
    │   ├── UnknownExercise        no exercise matches the id or the notebook
    │   └── DatasetUnavailable     a dataset the exercise needs is not on this machine
    └── InternalError            a bug in the grader itself

Timeouts and dead kernels are *not* errors: they are facts about a submission and are recorded
in the execution summary. A student's wrong answer is never an exception past the check layer.
"""

from __future__ import annotations


class GraderError(Exception):
    """Root of every error this package raises on purpose."""


class SubmissionError(GraderError):
    """The submission itself cannot be graded (the student can fix it)."""


class InvalidNotebook(SubmissionError):
    """The file is not a notebook that Jupyter could open."""


class ConfigurationError(GraderError):
    """The grader is set up wrongly (the instructor can fix it)."""


class UnknownExercise(ConfigurationError):
    """No exercise has the given id, or none could be inferred."""


class DatasetUnavailable(ConfigurationError):
    """A dataset an exercise needs is neither cached nor downloadable."""


class InternalError(GraderError):
    """A bug in the grader: never the student's fault."""
