"""`cnn-grader calibrate`: measures once, then reads the cache keyed by what it depends on."""

from __future__ import annotations

import json

import pytest

from grader import calibrate
from grader.cli import main
from grader.exercises import get
from grader.keras_support import calibration
from grader.keras_support.spec import AccuracySpec, Threshold


def test_an_exercise_without_accuracy_check_has_nothing_to_calibrate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["calibrate", "ex08_metrics"]) == 0
    assert "ex08_metrics: no accuracy check, nothing to calibrate" in capsys.readouterr().out


@pytest.mark.usefixtures("needs_fashion_mnist")
def test_calibrate_then_read_from_the_cache(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "ex04_dense_baseline", "--profile", "smoke"]) == 0
    first = capsys.readouterr().out
    assert "ex04_dense_baseline [smoke] dense_model: reference 0." in first
    assert main(["calibrate", "ex04_dense_baseline", "--profile", "smoke"]) == 0
    second = capsys.readouterr().out
    assert "(cached)" in second
    entries = json.loads(calibration.calibration_path().read_text())
    entry = next(
        e
        for e in entries.values()
        if e["exercise"] == "ex04_dense_baseline" and e["budget"]["TRAIN_SAMPLES"] == 3000
    )
    assert entry["profile"] == "smoke" and entry["device"] in ("cpu", "gpu")
    assert len(entry["solution_sha256"]) == 64 and entry["tensorflow"]


def test_key_changes_with_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    exercise = get("ex04_dense_baseline")
    spec = next(c.fn.spec for c in exercise.checks if hasattr(c.fn, "spec"))
    assert isinstance(spec, AccuracySpec)
    before = calibration.calibration_key(exercise, spec, "smoke")
    monkeypatch.setenv("CNN_GRADER_SMOKE_BUDGET", "epochs=2")
    assert calibration.calibration_key(exercise, spec, "smoke") != before


def test_threshold_text_says_where_the_number_comes_from() -> None:
    smoke = Threshold(
        0.859,
        "smoke",
        "reference",
        reference=0.889,
        margin=0.03,
        budget_text="1 epoch on the first 10,000 training images",
    )
    assert smoke.explain(0.873) == (
        "0.873 ≥ 0.859 = reference 0.889 − 0.03 (smoke profile: "
        "1 epoch on the first 10,000 training images)"
    )
    assert smoke.explain(0.5).startswith("0.500 < 0.859")
    full = Threshold(
        0.869,
        "full",
        "reference",
        reference=0.899,
        margin=0.03,
        budget_text="the notebook's own budget",
        course=0.9,
    )
    assert full.explain(0.88) == (
        "0.880 ≥ 0.869 = reference 0.899 − 0.03 (course target 0.9, "
        "which the reference does not reach under this budget on "
        "this machine; full profile: the notebook's own budget)"
    )
    above = Threshold(
        0.9, "full", "reference", reference=0.95, margin=0.03, budget_text="b", course=0.9
    )
    assert above.explain(0.91) == (
        "0.910 ≥ 0.900 = course threshold (reference 0.950 − 0.03 is above it) (full profile: b)"
    )
    assert not above.below_course and full.below_course
    capped = Threshold(0.98, "smoke", "reference", reference=0.999, margin=0.01, budget_text="b")
    assert "course threshold (reference 0.999 − 0.01 is above it)" in capped.explain(0.99)


@pytest.mark.parametrize(
    "cnn, dense, value, source, text",
    [
        (
            0.86,
            0.819,
            0.83,
            "reference",
            "= reference 0.860 − 0.03; the ex04_dense_baseline reference (dense_model) under the "
            "same budget 0.819 + 0.01 is below it",
        ),
        (
            0.86,
            0.845,
            0.855,
            "baseline",
            "= the ex04_dense_baseline reference (dense_model) under the same budget 0.845 + 0.01, "
            "which this model must beat; reference 0.860 − 0.03 is below it",
        ),
        (
            0.78,
            0.80,
            0.75,
            "reference",
            "WARNING: under this budget the reference does not beat the ex04_dense_baseline",
        ),
    ],
)
def test_the_cnn_must_beat_the_dense_reference_under_its_budget(
    monkeypatch: pytest.MonkeyPatch, cnn: float, dense: float, value: float, source: str, text: str
) -> None:
    """ex05's threshold is at least ex04's dense reference trained under ex05's budget + 0.01,
    unless that budget cannot tell the two apart (the reference itself would fail): then the
    threshold says so instead of failing the reference."""
    measured = {"ex05_cnn": cnn, "ex04_dense_baseline": dense}
    budgets = []

    def reference_accuracy(exercise, spec, profile, **_):  # type: ignore[no-untyped-def]
        budgets.append(spec.training)
        return measured[spec.exercise_id], False

    monkeypatch.setattr(calibrate, "reference_accuracy", reference_accuracy)
    from grader.exercises.ex05_cnn import ACCURACY, TRAINING

    limit = calibrate.threshold(get("ex05_cnn"), ACCURACY, "smoke")
    assert (limit.value, limit.source) == (value, source)
    assert text in limit.explain(0.9)
    assert budgets == [TRAINING, TRAINING]  # the dense reference under ex05's budget
    budgets.clear()
    full = calibrate.threshold(get("ex05_cnn"), ACCURACY, "full")
    # Under full: the reference under the notebook's own budget, capped at the course target,
    # with the target beside it; no baseline (the course targets themselves differ there).
    assert (full.value, full.source, full.course) == (round(cnn - 0.03, 4), "reference", 0.9)
    assert budgets == [TRAINING] and full.baseline is None
    assert "course target 0.9, which the reference does not reach" in full.explain(0.9)


def test_a_reference_below_the_course_target_is_said_to_the_instructor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under full, a reference that misses the course target is a loud line for whoever
    calibrates, and the threshold stays below the reference so the solution passes."""
    monkeypatch.setattr(calibrate, "reference_accuracy", lambda *a, **k: (0.899, True))
    from grader.exercises.ex05_cnn import ACCURACY

    heard: list[str] = []
    limit = calibrate.threshold(get("ex05_cnn"), ACCURACY, "full", note=heard.append)
    assert limit.value == 0.869 and limit.reference == 0.899
    assert len(heard) == 1 and heard[0].startswith(
        "WARNING: ex05_cnn's reference solution reaches 0.8990 under the full profile"
    )
    monkeypatch.setattr(calibrate, "reference_accuracy", lambda *a, **k: (0.93, True))
    heard.clear()
    assert calibrate.threshold(get("ex05_cnn"), ACCURACY, "full", note=heard.append).value == 0.9
    assert heard == []


@pytest.mark.usefixtures("needs_fashion_mnist")
def test_a_container_too_small_for_the_measured_need_stops_before_grading(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Calibration records the reference kernel's peak memory; under Gradescope's default
    768 MB, ex04's solution is not graded at all (no failed check): exit 2, saying the memory
    to set."""
    import helpers

    assert main(["calibrate", "ex04_dense_baseline", "--profile", "smoke"]) == 0
    entries = json.loads(calibration.calibration_path().read_text())
    entry = next(
        e
        for e in entries.values()
        if e["exercise"] == "ex04_dense_baseline" and e["profile"] == "smoke"
    )
    assert entry["peak_memory_bytes"] > 100 * 2**20  # TensorFlow alone is more
    capsys.readouterr()
    monkeypatch.setenv("CNN_GRADER_MEMORY_LIMIT", "768M")
    out = tmp_path / "reports"
    code = main(
        [
            "grade",
            str(helpers.solution_path("ex04_dense_baseline")),
            "--profile",
            "smoke",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "ex04_dense_baseline needs about" in err and "768 MiB (CNN_GRADER_MEMORY_LIMIT)" in err
    assert "Raise its memory limit to at least" in err and "Nothing was graded" in err
    assert not out.exists()


def test_a_calibration_from_other_versions_is_measured_again_and_said_so(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key holds TensorFlow's and Keras' versions: a calibration measured with others is
    never reused, and the measurement that replaces it says why. (A cache of its own: the
    session's holds real measurements other tests grade with.)"""
    path = tmp_path / "calibration.json"
    monkeypatch.setattr(calibration, "calibration_path", lambda: path)
    exercise = get("ex04_dense_baseline")
    spec = next(c.fn.spec for c in exercise.checks if hasattr(c.fn, "spec"))
    key = calibration.calibration_key(exercise, spec, "smoke")
    path.write_text(
        json.dumps({"older": {**key, "tensorflow": "2.0.0", "accuracy": 0.9, "seconds": 1.0}})
    )
    monkeypatch.setattr(calibrate, "measure", lambda *a, **k: (0.81, 600 * 2**20))
    heard: list[str] = []
    accuracy, fresh = calibrate.reference_accuracy(exercise, spec, "smoke", note=heard.append)
    assert (accuracy, fresh) == (0.81, True)
    assert len(heard) == 1 and f"measured with {key['device']}, tensorflow 2.0.0" in heard[0]
    assert "not reused" in heard[0], heard
    stored = calibration.reference_peak_memory(exercise, "smoke")
    assert stored == 600 * 2**20
