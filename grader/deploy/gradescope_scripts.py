"""The two scripts of Gradescope's autograder zip, as written into it.

Gradescope unpacks the zip into /autograder/source, runs `setup.sh` there once, as root, while
it builds the image (the network is up), and then `run_autograder` for every submission, with
the student's files in /autograder/submission; it shows /autograder/results/results.json
(https://gradescope-autograders.readthedocs.io/en/latest/specs/).

Neither script is templated: what differs between exercises is in `cnn-grader.env` beside them
(written by `gradescope_zip`, values shell-quoted). Both read the root from
`CNN_GRADER_AUTOGRADER_ROOT` (default /autograder), so tests run them in a temporary root, and
both use one cache, `$ROOT/cache` (`CNN_GRADER_CACHE_DIR`): datasets and calibration made by
setup.sh are what the submissions' runs find.
"""

from __future__ import annotations

ENV_FILE = "cnn-grader.env"
ROOT_ENV = "CNN_GRADER_AUTOGRADER_ROOT"

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image; the zip's files
# are in $ROOT/source. CNN_GRADER_AUTOGRADER_ROOT replaces /autograder (for tests).
set -euo pipefail
ROOT="${CNN_GRADER_AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"
PYTHON=python3
# shellcheck source=/dev/null
. "$SOURCE/cnn-grader.env"  # EXERCISE WHEEL EXTRAS BUNDLE DATASETS CALIBRATE NOTEBOOK_TIMEOUT
export CNN_GRADER_CACHE_DIR="$ROOT/cache"
export CNN_GRADER_COURSE="$SOURCE/$BUNDLE"
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
say() { echo "setup.sh: $*"; }

# 1. The grading bundle holds the reference solutions: readable by root only (kernels run as
#    users of their own). The cache stays enterable: its keras/ is the kernels' dataset folder;
#    the grader unpacks bundles into its courses/ with mode 0700.
chmod 600 "$CNN_GRADER_COURSE"
mkdir -p "$CNN_GRADER_CACHE_DIR"
chmod 755 "$CNN_GRADER_CACHE_DIR"

# 2. A virtualenv with pip. `python3 -m venv --help` succeeds without ensurepip (Debian and
#    Ubuntu ship it in python3-venv / python3.X-venv), so one is made for real to find out.
venv_works() { "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; }
make_venv() {
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}
install_venv_support() {
  if ! command -v apt-get >/dev/null 2>&1; then
    say "$PYTHON cannot make a virtualenv with pip, and there is no apt-get to install python3-venv"
    exit 1
  fi
  say "$PYTHON cannot make a virtualenv with pip (no ensurepip): installing python3-venv"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3 python3-venv
  local version
  version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if apt-cache show "python$version-venv" >/dev/null 2>&1; then
    apt-get install -y -qq --no-install-recommends "python$version-venv"
  fi
}
if venv_works; then
  say "reusing the virtualenv $VENV"
else
  if ! make_venv; then
    install_venv_support
    make_venv || { say "$PYTHON still cannot make a virtualenv in $VENV"; exit 1; }
  fi
  "$VENV/bin/python" -m pip install -q --upgrade pip || say "pip not upgraded; going on"
fi

# 3. The grader, from the wheel in the zip: nothing to build. The second install makes this
#    venv hold exactly this wheel, even where a cnn-grader of the same version is visible.
#    The training extra (TensorFlow, Keras) only for an exercise that trains (EXTRAS), and
#    the versions the course bundle was made and calibrated with (constraints.txt).
SPEC="$SOURCE/$WHEEL"
if [ -n "${EXTRAS:-}" ]; then SPEC="$SPEC[$EXTRAS]"; fi
PINS=()
if [ -f "$SOURCE/constraints.txt" ]; then PINS=(-c "$SOURCE/constraints.txt"); fi
"$VENV/bin/python" -m pip install --progress-bar off "${PINS[@]}" "$SPEC"
"$VENV/bin/python" -m pip install -q --no-deps --force-reinstall "$SOURCE/$WHEEL"
say "installed $("$VENV/bin/cnn-grader" --version)"

# 4. The bundle opens and holds the exercise: a wrong one fails this build, not a submission.
"$VENV/bin/python" -I -c '
import sys
from grader.course import current
from grader.exercises import get
course = current()
solution = get(sys.argv[1]).solution_path
if not solution.is_file():
    sys.exit(f"setup.sh: {course.describe()} has no solution for {sys.argv[1]}")
print(f"setup.sh: course: {course.describe()}")
' "$EXERCISE"

# 5. Keras exercises: the datasets (kernels have no network), and the reference accuracy the
#    smoke profile's threshold comes from, measured once here rather than in every submission.
cd "$ROOT"
if [ -n "${DATASETS:-}" ]; then
  "$VENV/bin/cnn-grader" datasets fetch --exercise "$EXERCISE"
fi
if [ "${CALIBRATE:-0}" = 1 ]; then
  "$VENV/bin/cnn-grader" calibrate "$EXERCISE"
fi
if [ -d "$CNN_GRADER_CACHE_DIR/courses" ]; then chmod 700 "$CNN_GRADER_CACHE_DIR/courses"; fi
chmod 755 "$CNN_GRADER_CACHE_DIR"
say "ready to grade $EXERCISE (notebook timeout ${NOTEBOOK_TIMEOUT}s)"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission (the student's files are in $ROOT/submission) and
# shows $ROOT/results/results.json. CNN_GRADER_AUTOGRADER_ROOT replaces /autograder (for tests).
set -uo pipefail
ROOT="${CNN_GRADER_AUTOGRADER_ROOT:-/autograder}"
# shellcheck source=/dev/null
. "$ROOT/source/cnn-grader.env"
export CNN_GRADER_CACHE_DIR="$ROOT/cache"
export CNN_GRADER_COURSE="$ROOT/source/${BUNDLE:-course.bundle}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
cd "$ROOT" || exit 1
"$ROOT/venv/bin/python" -I -m grader.deploy.gradescope_run --root "$ROOT" \
  --exercise "${EXERCISE:-}" --timeout "${NOTEBOOK_TIMEOUT:-480}"
status=$?
if [ ! -s "$RESULTS" ]; then  # the grader did not even start: still a result that says so
  printf '{"score": 0.0, "tests": [], "output": "%s"}\n' \
    "The autograder could not start (exit status $status). This is not a problem with your submission: your instructor can see the log." \
    > "$RESULTS"
fi
exit 0
"""
