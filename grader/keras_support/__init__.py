"""Grading Keras exercises: what the NumPy exercises never needed.

    budget        training budgets per profile; the `injected-parameters` cell (papermill style)
    architecture  a student's model against the reference, layer by layer, with a readable diff
    evaluate      the trained model's test accuracy, computed in a clean subprocess
    spec          what an accuracy check judges and its threshold (plain data, settled before
                  grading: grader.calibrate measures the reference solutions)
    calibration   the cache of measured reference accuracies, keyed by machine kind
    checks        the check functions the exercise modules declare; they start no work
    kernel_drivers  code the probe runs in the kernel to use student callbacks and models

Nothing here imports TensorFlow at import time: `cnn-grader list` must stay instant.
"""
