"""`check(conv2d)`: run the release's public examples of a function, as it is defined now.

A student calls this from the self-check cell under each function of a starter notebook. It
calls the function on the public inputs and compares with the reference's answers stored in
`cases/*.json`, using the grader's own comparisons (`expect_match`) and its own naming of
catalogued mistakes (the mistakes' answers on the same inputs are stored beside the reference's),
so a wrong answer reads exactly as it will in the grader's report. It decides no grade: the
hidden inputs of the real checks are not here, and a function that passes these examples can
still fail them. `cnn-grader check --course RELEASE` judges a whole notebook with `judge` too.

Shipped in the student release as `cnn_selfcheck/selfcheck/runtime.py`: NumPy, the standard
library and relative imports only.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import sys
import threading
import traceback
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..checks.diagnosis import name_mistakes, timeout_message
from ..checks.expect import expect_match, expect_parts
from ..checks.outcomes import Fail
from .codec import decode
from .comparison import compared
from .description import from_data
from .judges import judge as judge_data
from .judges import lacks, properties
from .models import facts, is_model, plain

HIDDEN_NOTE = "public self-checks only: your final grade also uses hidden inputs"
CASES_FORMAT = "cnn-selfcheck-cases"
# In the release: cnn_selfcheck/selfcheck/runtime.py → cnn_selfcheck/cases/
CASES_DIR = Path(__file__).resolve().parents[1] / "cases"
_MAX_ITEMS = 10_000  # as the grader's probe: a generator is read as its first items


def load_cases(cases_dir: Path = CASES_DIR) -> list[dict[str, Any]]:
    """Every public example of the release, in exercise order."""
    return [
        {**case, "exercise": doc.get("exercise", "")}
        for doc in _documents(cases_dir)
        for case in doc["cases"]
    ]


def load_unchecked(cases_dir: Path = CASES_DIR) -> dict[str, str]:
    """The functions without public examples, and why, over the whole release."""
    return {
        name: why for doc in _documents(cases_dir) for name, why in doc.get("unchecked", {}).items()
    }


def _documents(cases_dir: Path) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(Path(cases_dir).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") == CASES_FORMAT:
            docs.append(doc)
    return docs


def call_case(fn: Callable[..., Any], case: dict[str, Any]) -> Any:
    """What `fn` answers to the example (a driver's example: what the driver reports)."""
    args = decode(case["args"])  # decoded afresh for each call: fn may change them
    kwargs = {name: decode(v) for name, v in case["kwargs"].items()}
    driver = case.get("driver")
    if driver is None:
        return fn(*args, **kwargs)
    env: dict[str, Any] = {"__name__": f"cnn_selfcheck_driver_{driver['name']}"}
    exec(compile(driver["source"], f"<driver {driver['name']}>", "exec"), env)  # noqa: S102

    def need(name: str) -> Any:
        if name != case["function"]:
            raise NameError(f"name {name!r} is not defined")
        return fn

    result = env[driver["name"]](need, *args, **kwargs)
    # A judged case's driver reports data for the judge; an example's driver, its answer.
    return result if case.get("kind") == "judged" else result["own"]


def judge(got: Any, case: dict[str, Any]) -> tuple[str, str] | None:
    """(message, hint) when `got` fails the example, None when it passes: the graded checks'
    comparison, each part of a tuple answer on its own, a catalogued mistake named."""
    what = case["call"] + (f": {case['subject']}" if case.get("subject") else "")
    want = decode(case["expected"])
    wrong = [(w["id"], w["says"], decode(w["value"])) for w in case.get("wrong", [])]
    parts = case.get("parts") or []
    if case.get("dtype") and isinstance(want, np.ndarray):
        kind = getattr(got, "dtype", None)
        if kind is not None and kind != want.dtype:
            return f"{what}: expected dtype {want.dtype}, got {kind}", case["hint"]
    if not parts:
        found = _compare(case["function"], got, want, wrong, what, case["atol"])
        return (found[0], found[1] or case["hint"]) if found else None
    try:
        items = expect_parts(got, parts, what=what)
    except Fail as exc:
        return str(exc), exc.hint or case["hint"]
    hints = case.get("part_hints") or [case["hint"]] * len(parts)
    failures = []
    for i, name in enumerate(parts):
        mine = [
            (wid, says, v[i])
            for wid, says, v in wrong
            if isinstance(v, (tuple, list)) and len(v) == len(parts)
        ]
        found = _compare(case["function"], items[i], want[i], mine, f"{what}: {name}", case["atol"])
        if found:
            failures.append((found[0], found[1] or hints[i]))
    if not failures:
        return None
    return ("\n".join(m for m, _ in failures), " ".join(dict.fromkeys(h for _, h in failures if h)))


def _compare(
    func: str, got: Any, want: Any, wrong: list[tuple[str, str, Any]], what: str, atol: float
) -> tuple[str, str] | None:
    try:
        expect_match(got, want, what=what, atol=atol)
    except Fail as exc:
        return f"{exc}{name_mistakes(func, got, want, wrong, atol=atol)[1]}", exc.hint
    return None


class _TimeLimit(Exception):
    pass


def _within(seconds: float | None, work: Callable[[], Any]) -> Any:
    """work(), stopped after `seconds` where a timer can interrupt it (the main thread of a
    Unix kernel, as Jupyter runs cells); elsewhere it runs to the end."""
    usable = (
        seconds
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        return work()

    def stop(signum: int, frame: Any) -> None:
        raise _TimeLimit

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]  # typeshed's which is too narrow
    try:
        return work()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _student_frames(exc: BaseException) -> str:
    """The last frames of a traceback, cells named as the grader's report names them ("cell 4,
    line 3": Jupyter's execution count, the cell's number after Restart Kernel and Run All)."""
    ours = str(Path(__file__).resolve().parents[1])
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(ours) and not f.filename.startswith("<driver")
    ]
    lines = (
        ["Traceback (most recent call last):\n"]
        + traceback.format_list(frames)
        + traceback.format_exception_only(type(exc), exc)
    )
    text = "".join(lines[-3:])[-2000:]
    try:
        import IPython  # only in a Jupyter kernel; the self-checks never need it

        shell = IPython.get_ipython()
        numbers = dict(getattr(getattr(shell, "compile", None), "_filename_map", {}) or {})
    except Exception:  # noqa: BLE001 - not in IPython: the file names stay
        numbers = {}

    def cell(m: re.Match[str]) -> str:
        number = numbers.get(m.group(1))
        return f"cell {number}, line {m.group(2)}" if number else m.group(0)

    return re.sub(r'File "([^"]*ipykernel_\d+/\d+\.py)", line (\d+)', cell, text)


def run_case(fn: Callable[..., Any], case: dict[str, Any]) -> tuple[str, str, str]:
    """(status, message, hint) of one example: passed, failed or not_attempted. A model
    builder's case compares the facts the exercise states (grader.selfcheck.models) or the
    properties it asks for; a judged case judges a driver's data as the graded check does
    (grader.selfcheck.judges)."""
    kind = case.get("kind")
    model = kind in ("model", "properties")
    try:
        got = (
            facts(_within(case.get("time_limit"), fn))
            if model
            else _as_data(_within(case.get("time_limit"), lambda: call_case(fn, case)))
        )
    except NotImplementedError:
        return "not_attempted", f"`{case['function']}` still raises NotImplementedError", ""
    except _TimeLimit:
        return "failed", timeout_message(case["call"], float(case["time_limit"])), case["hint"]
    except Exception as exc:  # noqa: BLE001 - the student's code: say what it raised
        return (
            "failed",
            f"{case['call']} raised {type(exc).__name__}: {exc}\n{_student_frames(exc).strip()}",
            case["hint"],
        )
    problems = fact_problems(got, case)
    if problems is not None:
        return ("failed", "\n".join(problems), case["hint"]) if problems else ("passed", "", "")
    verdict = judge(got, case)
    if verdict is None:
        return "passed", "", ""
    return "failed", verdict[0], verdict[1]


def fact_problems(got: Any, case: dict[str, Any]) -> list[str] | None:
    """The messages of a model, properties or judged case ([]: it passes), in the graded
    checks' words (the same comparisons and judges); None for a case compared with an answer
    (`judge`)."""
    kind = case.get("kind")
    what = case["call"]
    if kind in ("model", "properties"):
        if not isinstance(got, dict) or "not_a_model" in got or "layers" not in got:
            found = got.get("not_a_model") if isinstance(got, dict) else type(got).__name__
            return [f"{what}: expected a Keras model, got {found}"]
        info = from_data(got)
        if kind == "model":
            return compared(case["compare"], info, from_data(case["spec"]), what=what)[0]
        problems = lacks(what, properties(plain(info), case["rules"]))
        if case.get("compile_spec"):
            problems += compared("compile", info, from_data(case["compile_spec"]), what=what)[0]
        return problems
    if kind == "judged":
        return judge_data(case["judge"], got, case["params"], what=what)[0]
    return None


def check(
    *functions: Callable[..., Any],
    cases_dir: Path | None = None,
    out: TextIO | None = None,
    namespace: dict[str, Any] | None = None,
) -> None:
    """Print ✔ / ✘ for each public example of each function, with the hint of a failure.

    A function is known by the name the grader calls (an alias such as `conv2d = conv2d_fast`
    included: the notebook's names are looked up in `namespace`, by default the notebook's own,
    `__main__`). `check()` alone checks every function of the notebook with public examples."""
    stream = out if out is not None else sys.stdout
    where = cases_dir if cases_dir is not None else CASES_DIR
    cases, unchecked = load_cases(where), load_unchecked(where)
    names = namespace if namespace is not None else vars(sys.modules["__main__"])
    defined: list[str] = []
    if not functions:
        known = list(dict.fromkeys(c["function"] for c in cases if c.get("kind") != "defined"))
        functions = tuple(names[n] for n in known if callable(names.get(n)))
        if not functions:
            _write(
                stream,
                "check(): none of the functions with public examples is defined "
                f"yet ({', '.join(known)})",
            )
        mine = {c["exercise"] for c in cases if c["function"] in names}
        defined = [
            c["function"] for c in cases if c.get("kind") == "defined" and c["exercise"] in mine
        ]
    for fn in functions:
        for line in _report(fn, cases, unchecked, names):
            _write(stream, line)
    for name in defined:  # what the grader needs after the run: there or not
        value = names.get(name)
        if value is None:
            _write(stream, f"· {name}: not defined yet (the training cell makes it)")
        elif is_model(value):
            _write(
                stream, f"✔ {name} holds a Keras model (its accuracy is graded, not checked here)"
            )
        else:
            _write(stream, f"✘ `{name}` is a {type(value).__name__}, not a Keras model")
    _write(stream, f"({HIDDEN_NOTE})")


def _graded_name(
    fn: Any, cases: list[dict[str, Any]], unchecked: dict[str, str], names: dict[str, Any]
) -> str:
    """The name the grader would call `fn` by: its own, or a name bound to it in the notebook."""
    known = {c["function"] for c in cases} | set(unchecked)
    own = getattr(fn, "__name__", "")
    if own in known and names.get(own, fn) is fn:
        return str(own)
    aliases = [n for n, v in names.items() if v is fn and n in known]
    return aliases[0] if aliases else str(own)


def _report(
    fn: Any, cases: list[dict[str, Any]], unchecked: dict[str, str], names: dict[str, Any]
) -> Iterable[str]:
    if not callable(fn) or not isinstance(getattr(fn, "__name__", None), str):
        yield f"check() takes your functions themselves, e.g. check(conv2d); got {fn!r:.60}"
        return
    name = _graded_name(fn, cases, unchecked, names)
    mine = [c for c in cases if c["function"] == name and c.get("kind") != "defined"]
    if not mine:
        if name in unchecked:
            yield f"{name}: no public examples: {unchecked[name]}"
        else:
            known = ", ".join(dict.fromkeys(c["function"] for c in cases))
            yield (
                f"{name}: this release has no public examples of a function of that name "
                f"(it has: {known})"
            )
        return
    results = [(case, *run_case(fn, case)) for case in mine]
    yield f"{name}: {len(mine)} public example{'s' if len(mine) > 1 else ''}"
    if all(status == "not_attempted" for _, status, _, _ in results):
        yield f"  · {name}: not attempted yet (it still raises NotImplementedError)"
        return
    for case, status, message, hint in results:
        if status == "passed":
            yield f"  ✔ {case['call']}"
        elif status == "not_attempted":
            yield f"  · {case['call']}: not attempted yet (it raises NotImplementedError)"
        else:
            for i, line in enumerate(message.splitlines()):
                # one ✘ per failed part of a tuple answer; a traceback's lines indented
                yield f"  ✘ {line}" if i == 0 or line.startswith(case["call"]) else f"    {line}"
            if hint:
                yield f"      hint: {hint}"
    passed = sum(status == "passed" for _, status, _, _ in results)
    yield f"  {passed} of {len(mine)} passed"


def _as_data(value: Any, depth: int = 0) -> Any:
    """The value as the grader's probe reads it back: generators as lists, tensors as arrays."""
    if depth > 20:
        return value
    if isinstance(value, (types.GeneratorType, map, zip, filter)):
        value = list(itertools.islice(value, _MAX_ITEMS + 1))
    if isinstance(value, list):
        return [_as_data(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_as_data(v, depth + 1) for v in value)
    if (
        not isinstance(value, (np.ndarray, np.generic))
        and hasattr(value, "__array__")
        and hasattr(value, "shape")
    ):
        return np.asarray(value)
    return value


def _write(stream: TextIO, line: str) -> None:
    try:
        stream.write(line + "\n")
    except UnicodeEncodeError:  # a console that cannot show ✔ / ✘
        ascii_line = line.replace("✔", "ok").replace("✘", "X").replace("·", "-")
        stream.write(ascii_line.encode("ascii", "replace").decode("ascii") + "\n")
