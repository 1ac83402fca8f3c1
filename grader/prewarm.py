"""Work every grading of a process needs first, done ahead in the background (`check` and
`grade` at their start, a batch worker before its first task)."""

from __future__ import annotations


def warm_up() -> None:
    """What every grading needs and no notebook changes, started in a background thread
    before the grader's own imports: the sandbox's probe of this machine (a Python started to
    try each isolation step) and the HTML report's template, compiled. Measured on one
    `cnn-grader check` of ex01 (2 busy CPU cores): 0.1-0.5 s no longer waited for; in a batch
    worker, its first grading's 0.1 s of sandbox set-up and 0.1 s of reports."""

    def work() -> None:
        try:
            from grader.execution.sandbox import machine

            machine.capabilities()
            from grader.reporting import html_report

            html_report.prepare()
        except Exception:  # noqa: BLE001 - grading does it again and says what went wrong
            pass

    import threading

    threading.Thread(target=work, daemon=True, name="cnn-grader-warm-up").start()
