"""Grading Keras exercises: what the NumPy exercises never needed.

    budget        training budgets per profile; the `injected-parameters` cell (papermill style)
    architecture  a student's model against the reference, layer by layer, with a readable diff
    evaluate      the trained model's test accuracy, computed in a clean subprocess
    calibration   smoke-profile thresholds: the reference solution trained under the same budget
    checks        the check functions the exercise modules declare
    kernel_drivers  code the probe runs in the kernel to use student callbacks and models

Nothing here imports TensorFlow at import time: `cnn-grader list` must stay instant.
"""
