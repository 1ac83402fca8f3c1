"""Training budgets: `full` trains as the notebook says, `smoke` injects a smaller budget.

The course notebooks keep their budget in a cell tagged `parameters` (EPOCHS, BATCH_SIZE,
TRAIN_SAMPLES, TEST_SAMPLES, SEED). Under the smoke profile the grader adds a cell tagged
`injected-parameters` right after it, as papermill does, so the student's own values are
overridden without editing their code. A notebook whose tag was lost (cells copied into a new
notebook) gets the cell after the first cell that assigns one of those names; a notebook with
neither is run with its own budget, and the report says so.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, replace
from typing import Any

from nbformat import NotebookNode

from grader import backends, nbformat_typed
from grader.checks.core import Exercise
from grader.datasets import registry, served
from grader.datasets.held_out import HELD_OUT_TEXT
from grader.errors import ConfigurationError
from grader.execution.notebook import INJECTED_TAG, tags
from grader.models import Limits
from grader.probe import plan
from grader.training_scan import budget_overrides

PARAMETER_NAMES = ("EPOCHS", "BATCH_SIZE", "TRAIN_SAMPLES", "TEST_SAMPLES", "SEED")
PARAMETERS_TAG = "parameters"

# Kernels of Keras exercises: reproducible runs, datasets from the grader's cache.
DETERMINISM_ENV = {"TF_DETERMINISTIC_OPS": "1", "TF_CUDNN_DETERMINISTIC": "1"}


@dataclass(frozen=True)
class Budget:
    """A training budget, and how many test images the grader evaluates the model on."""

    epochs: int
    train_samples: int | None  # None: the whole training set
    test_samples: int | None  # the notebook's own evaluation
    eval_samples: int | None  # the grader's evaluation (None: the whole held-out half)
    batch_size: int | None = None  # None: the notebook's own BATCH_SIZE

    def parameters(self) -> dict[str, Any]:
        values: dict[str, Any] = {"EPOCHS": self.epochs}
        if self.batch_size is not None:
            values["BATCH_SIZE"] = self.batch_size
        values.update({"TRAIN_SAMPLES": self.train_samples, "TEST_SAMPLES": self.test_samples})
        return values

    def describe(self) -> str:
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        train = (
            "all training images"
            if self.train_samples is None
            else f"the first {self.train_samples:,} training images"
        )
        batch = f" in batches of {self.batch_size}" if self.batch_size is not None else ""
        return f"{epochs} on {train}{batch}"


SMOKE_ENV = "CNN_GRADER_SMOKE_BUDGET"


def smoke_override(default: Budget) -> Budget:
    """`CNN_GRADER_SMOKE_BUDGET="epochs=1,train_samples=3000,eval_samples=1000"` shrinks (or
    grows) the smoke budget on a machine: CI runs the contract tests on a smaller subset, a
    slow machine can trade accuracy for time. Thresholds follow, since the calibration is
    keyed by the budget."""
    text = os.environ.get(SMOKE_ENV, "").strip()
    if not text:
        return default
    values: dict[str, int | None] = {}
    for part in text.split(","):
        name, _, raw = part.partition("=")
        name = name.strip().lower()
        if name not in Budget.__dataclass_fields__ or not raw.strip():
            raise ConfigurationError(
                f"{SMOKE_ENV}: cannot read {part.strip()!r}; use e.g. "
                "epochs=1,train_samples=3000,test_samples=500,"
                "eval_samples=1000"
            )
        raw = raw.strip().lower()
        try:
            values[name] = None if raw == "none" else int(raw)
        except ValueError:
            raise ConfigurationError(f"{SMOKE_ENV}: {name} must be an integer or none") from None
    if values.get("epochs", default.epochs) is None:
        raise ConfigurationError(f"{SMOKE_ENV}: epochs cannot be none")
    return replace(default, **values)  # type: ignore[arg-type]  # values checked above, field by field


def eval_text(samples: int | None) -> str:
    """The images the grader evaluates on: never the ones the kernel received."""
    if samples is None:
        return f"all test images of {HELD_OUT_TEXT}"
    return f"{samples:,} test images of {HELD_OUT_TEXT}"


def _assigns_parameters(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else ([node.target] if isinstance(node, ast.AnnAssign) else [])
        )
        if any(isinstance(t, ast.Name) and t.id in PARAMETER_NAMES for t in targets):
            return True
    return False


def inject_parameters(nb: NotebookNode, values: dict[str, Any], *, profile: str) -> list[str]:
    """Insert the `injected-parameters` cell (in place); returns notes for the report."""
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in tags(c)]
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    anchor = next((i for i in code if PARAMETERS_TAG in tags(nb.cells[i])), None)
    how = "after the cell tagged 'parameters'"
    if anchor is None:
        anchor = next((i for i in code if _assigns_parameters(nb.cells[i].source)), None)
        how = "after the first cell that sets them (no cell is tagged 'parameters')"
    shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
    if anchor is None:
        return [
            f"{profile} profile: no cell sets {', '.join(PARAMETER_NAMES[:4])}, so the "
            f"notebook trained with its own budget instead of {shown}"
        ]
    lines = [f"# Parameters injected by cnn-grader ({profile} profile)"]
    lines += [f"{k} = {v!r}" for k, v in values.items()]
    cell = nbformat_typed.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = [INJECTED_TAG]
    nb.cells.insert(anchor + 1, cell)
    notes = [f"{profile} profile: {shown} injected {how}"]
    for override in budget_overrides(nb):
        notes.append(
            f"{override.text()}: the notebook did not train with the injected budget "
            f"({shown}); the accuracy threshold is for the injected one"
        )
    return notes


@dataclass(frozen=True)
class Training:
    """How an exercise's notebook trains: the datasets it loads and its smoke budget.

    Its `prepare` and `kernel_env` are the Exercise hooks of the same names.
    """

    datasets: tuple[str, ...]
    smoke: Budget

    def exercise(self, exercise_id: str, title: str) -> Exercise:
        """An exercise whose notebook trains this way: Keras' limits and the profile hooks."""
        return Exercise(
            exercise_id,
            title=title,
            limits=KERAS_LIMITS,
            needs_tensorflow=True,
            datasets=self.datasets,
            prepare=self.prepare,
            kernel_env=self.kernel_env,
            profile_limits=self.limits_and_notes,
        )

    def limits(self, profile: str, reference_seconds: float | None) -> Limits:
        """Under smoke, a cell may take a generous multiple of what grading the reference
        solution took on this machine (`reference_seconds`, from calibration): a notebook that
        trains far longer than the injected budget stops there, instead of holding a worker
        for half an hour. Unknown until the exercise is calibrated (`cnn-grader calibrate`),
        and under `full`: KERAS_LIMITS."""
        if reference_seconds is None or self.budget(profile) is None:
            return KERAS_LIMITS
        cell = min(KERAS_LIMITS.cell_timeout, round(CELL_FACTOR * reference_seconds + CELL_EXTRA_S))
        return replace(
            KERAS_LIMITS,
            cell_timeout=cell,
            notebook_timeout=min(KERAS_LIMITS.notebook_timeout, 2 * cell + 60),
        )

    def budget(self, profile: str) -> Budget | None:
        """The injected budget, or None where the notebook keeps its own (full)."""
        if profile != "smoke":
            return None
        return smoke_override(self.smoke)

    def eval_samples(self, profile: str) -> int | None:
        budget = self.budget(profile)
        return budget.eval_samples if budget is not None else None

    def prepare(self, nb: NotebookNode, profile: str) -> list[str]:
        budget = self.budget(profile)
        if budget is None:
            notes = [f"{profile} profile: the notebook trains with its own parameters"]
        else:
            notes = inject_parameters(nb, budget.parameters(), profile=profile)
            if os.environ.get(SMOKE_ENV):
                notes.append(f"smoke budget set by {SMOKE_ENV}: {budget.describe()}")
        _, missing = served.prepare_keras_home(self.datasets)
        return notes + missing

    def limits_and_notes(
        self, profile: str, reference_seconds: float | None
    ) -> tuple[Limits, list[str]]:
        """The Exercise hook `profile_limits`: the limits and the report's line about them."""
        limits = self.limits(profile, reference_seconds)
        if reference_seconds is None or limits.cell_timeout >= KERAS_LIMITS.cell_timeout:
            return limits, []
        return limits, [
            f"{profile} profile: each cell may run {limits.cell_timeout:.0f}s "
            f"({CELL_FACTOR:g} × the {reference_seconds:.0f}s that grading the "
            f"reference solution took on this machine + {CELL_EXTRA_S:.0f}s)"
        ]

    def kernel_env(self, profile: str) -> dict[str, str]:
        home, _ = served.prepare_keras_home(self.datasets)
        env = {
            "KERAS_HOME": str(home),
            **backends.child_env(),  # the grading's backend, whatever a keras.json says
            **DETERMINISM_ENV,
            **plan.prelude_env(registry.cache_root() / "kernel"),
        }
        mnist_sha256 = served.served_mnist_sha256() if "mnist" in self.datasets else None
        if mnist_sha256:
            env[served.SERVED_MNIST_ENV] = mnist_sha256
        return env


# What every Keras exercise shares: the smoke budget (one epoch on a sixth of Fashion-MNIST
# trains the course models to 0.75–0.85 in seconds on two CPU cores) and limits wide enough
# for the full budget on a CPU, should someone force it there. The grader evaluates on all
# 5,000 held-out test images: a forward pass takes a second, and the threshold is steadier.
SMOKE = Budget(epochs=1, train_samples=10_000, test_samples=2_000, eval_samples=None)
# ex04 and ex05 (dense baseline, CNN): under SMOKE the dense reference beats the CNN's (0.786
# against 0.777 on the 5,000 held-out images), so a dense network would pass as the CNN. One
# epoch on half the training set in batches of 32 separates them on two CPU cores in ~15 s of
# training: CNN 0.860, dense 0.819 (seed 42; seeds 1-3: CNN 0.843-0.859, dense 0.809-0.824).
SMOKE_CNN_VS_DENSE = Budget(
    epochs=1, train_samples=30_000, test_samples=2_000, eval_samples=None, batch_size=32
)
KERAS_LIMITS = Limits(cell_timeout=1800, notebook_timeout=3600, probe_timeout=120)
# Smoke: a cell may take CELL_FACTOR × the reference solution's grading time + CELL_EXTRA_S.
CELL_FACTOR = 5.0
CELL_EXTRA_S = 60.0
