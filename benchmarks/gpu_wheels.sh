#!/usr/bin/env bash
# The folder gpu_full_profile.sh is carried in, built here (online) for a GPU machine without
# TensorFlow or network:
#
#   bash benchmarks/gpu_wheels.sh DIR [--datasets]
#
# DIR/ gets the grader's wheel, binary wheels of what it and Keras need besides NumPy (Keras,
# nbclient, ipykernel, matplotlib, ... : the GPU machine's JAX or PyTorch brings NumPy), the
# course's ex04-ex06 (course/solutions, course/exercises), gpu_full_profile.sh, and with
# --datasets the four Fashion-MNIST files (datasets/, ~30 MiB more). The wheels are for this
# Python and platform unless GPU_WHEELS_PYTHON_VERSION (e.g. 3.11) and GPU_WHEELS_PLATFORM
# (e.g. manylinux2014_x86_64) name the GPU machine's. Prints the folder's size; a device
# session carries at most 64 MiB.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:?usage: gpu_wheels.sh DIR [--datasets]}
WITH_DATASETS=${2:-}
PY=${PYTHON:-python3}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

target=()
if [ -n "${GPU_WHEELS_PYTHON_VERSION:-}" ]; then target+=(--python-version "$GPU_WHEELS_PYTHON_VERSION"); fi
if [ -n "${GPU_WHEELS_PLATFORM:-}" ]; then target+=(--platform "$GPU_WHEELS_PLATFORM"); fi

"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$DIR" "$ROOT"
"$PY" -m pip download -q --only-binary=:all: "${target[@]}" -d "$DIR" \
    keras nbclient nbformat ipykernel jinja2 matplotlib pillow cryptography
# The GPU machine's own (its JAX or PyTorch needs them): never replaced from here.
rm -f "$DIR"/numpy-*.whl "$DIR"/scipy-*.whl "$DIR"/jax-*.whl "$DIR"/jaxlib-*.whl \
    "$DIR"/torch-*.whl "$DIR"/nvidia_*.whl "$DIR"/triton-*.whl "$DIR"/tensorflow*.whl

mkdir -p "$DIR/course/solutions" "$DIR/course/exercises"
for e in ex04_dense_baseline ex05_cnn ex06_regularization; do
    cp "$ROOT/solutions/$e.ipynb" "$DIR/course/solutions/"
    cp "$ROOT/exercises/$e.ipynb" "$DIR/course/exercises/"
done
cp "$ROOT/benchmarks/gpu_full_profile.sh" "$DIR/"

if [ "$WITH_DATASETS" = "--datasets" ]; then
    mkdir -p "$DIR/datasets"
    "$PY" - "$DIR/datasets" <<'EOF'
import shutil, sys
from grader.datasets import sources
found = sources.locate("fashion_mnist")
if found is None:
    sys.exit("Fashion-MNIST is not on this machine (apt-get install dataset-fashion-mnist)")
for path in found.paths.values():
    shutil.copy(path, sys.argv[1])
EOF
fi

echo "$DIR:"
(cd "$DIR" && du -ab --max-depth=1 . | sort -n | awk '{printf "%10.1f KiB  %s\n", $1 / 1024, $2}')
bytes=$(du -sb "$DIR" | cut -f1)
echo "total $((bytes / 1048576)) MiB ($bytes bytes)"
if [ "$bytes" -gt $((64 * 1048576)) ]; then
    echo "warning: over the 64 MiB a device session carries" >&2
fi
