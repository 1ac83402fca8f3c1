"""The grader packaged for platforms that run it elsewhere.

gradescope_zip      `cnn-grader gradescope-zip`: the autograder zip (a wheel of this package,
                    the private grading bundle, setup.sh, run_autograder)
gradescope_scripts  the two scripts Gradescope runs: setup.sh once, run_autograder per
                    submission
gradescope_run      what run_autograder runs: pick the notebook, grade it, write results.json
"""
