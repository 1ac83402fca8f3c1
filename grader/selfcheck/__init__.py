"""Public self-checks: what a student runs, and how the release makes it (see grader.release).

`runtime.py` and `codec.py` are shipped in the student release byte for byte, beside
`grader/checks/expect.py` and `grader/checks/outcomes.py`, as the package `cnn_selfcheck`: they
use only NumPy, the standard library and relative imports, never TensorFlow nor the grader.
`public.py` and `cases.py` stay with the grader: they choose the public examples and write them,
answered by the reference solution, at release time.
"""
