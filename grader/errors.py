"""Errors the grader raises, arranged by whose problem they are.

::

    GraderError
    ├── SubmissionError          the student's file cannot be graded as it is
    │   └── InvalidNotebook        not JSON, not a notebook, unreadable
    ├── ConfigurationError       the instructor's setup is wrong or incomplete
    │   ├── UnknownExercise        no exercise matches the id or the notebook
    │   ├── DatasetUnavailable     a dataset the exercise needs is not on this machine
    │   └── MissingExtra           a training exercise without the `keras` extra installed
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


class MissingExtra(ConfigurationError):
    """The exercise trains Keras models and this installation has no Keras or no backend."""


BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def missing_training_packages() -> list[str]:
    """The packages a training exercise needs that this Python cannot import: Keras and the
    backend it would run on (KERAS_BACKEND, TensorFlow by default). Found, not imported."""
    import importlib.util
    import os

    def absent(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is None
        except (ImportError, ValueError):  # a finder that refuses it: not importable either
            return True

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    return [name for name in ("keras", BACKENDS.get(backend, backend)) if absent(name)]


def require_training_packages(exercise: object) -> None:
    """MissingExtra, saying what to install, when `exercise` trains and the extra is absent."""
    if not getattr(exercise, "needs_tensorflow", False):
        return
    missing = missing_training_packages()
    if missing:
        raise MissingExtra(
            f"{getattr(exercise, 'id', 'this exercise')} trains Keras models, and this "
            f"installation has no {' and no '.join(missing)}. Install the grader's training "
            "extra: pip install 'cnn-grader[keras]' (with the course bundle's pinned versions: "
            "cnn-grader constraints --course BUNDLE > constraints.txt; pip install "
            "'cnn-grader[keras]' -c constraints.txt)"
        )
