"""The grader's driver of ex10's numerical_gradient (grader.exercises.ex10_conv_backward):
run in the kernel on the student's function, against the reference here, by the catalogue of
mistakes on a wrong numerical_gradient (grader.exercises._ex10_mistakes), and shipped as source
in the student release's public examples (it is grader code, not a solution).

It differentiates the grader's curved f(x) = Σ w·exp(x) + c/2·(Σx)², and reports either the
gradient or x as it is after the call.
"""

from __future__ import annotations

from grader.checks.calls import Driver

NUMGRAD_DRIVER = Driver(
    "drive_numerical_gradient",
    '''
def drive_numerical_gradient(need, x, w, c, eps, report="gradient"):
    """numerical_gradient(f, x, eps) of the grader's f(x) = sum(w * exp(x)) + c / 2 * sum(x)**2;
    `report`: "gradient" returns what it returned, "x" the array x after the call."""
    import numpy as np

    numerical_gradient = need("numerical_gradient")
    weights = np.asarray(w, dtype=float)

    def f(v):
        v = np.asarray(v, dtype=float)
        return float(np.sum(weights * np.exp(v)) + 0.5 * c * np.sum(v) ** 2)

    given = np.array(x, dtype=float)
    grad = numerical_gradient(f, given, eps)
    return {"own": given if report == "x" else grad}
''',
)
