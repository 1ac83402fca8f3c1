#!/usr/bin/env bash
# The GPU run, prepared: on a machine with a GPU and JAX or PyTorch but no TensorFlow (and no
# network), install what the grader still needs from the wheels carried beside this script,
# calibrate and grade ex04-ex06 under the full profile, grade N copies of ex05 at once on the
# one GPU, and print examples/s, memory per kernel and wall time; all inside 8 minutes.
#
#   bash benchmarks/gpu_wheels.sh DIR          # here, online: DIR/ (wheels, course; <= 64 MiB)
#   bash DIR/gpu_full_profile.sh               # there: GPU_PROFILE_COPIES=4 by default
#
# KERAS_BACKEND: jax when JAX imports, else torch when PyTorch does (or as set). pip installs
# from DIR only (--no-index) and only what is missing: Keras, nbclient, ipykernel and their
# small dependencies, and the grader's wheel; NumPy, JAX or PyTorch are the machine's own.
# Fashion-MNIST: CNN_GRADER_DATASETS, DIR/datasets/ (gpu_wheels.sh --datasets), or
# /usr/share/datasets/fashion-mnist.
#
# Settings (environment): GPU_PROFILE_COPIES (N, 4), GPU_PROFILE_PROFILE (full; the test runs
# smoke with a tiny CNN_GRADER_SMOKE_BUDGET), GPU_PROFILE_DEADLINE_S (480), GPU_PROFILE_OUT
# (a new temporary folder), GPU_PROFILE_WHEELS (the folder this script is in), PYTHON,
# GPU_PROFILE_EXERCISES (those calibrated and graded, "ex04_dense_baseline ex05_cnn
# ex06_regularization") and GPU_PROFILE_CONCURRENT (the one graded N times at once, ex05_cnn):
# the default suite's test runs ex04 alone, twice at once, with a tiny budget.
set -euo pipefail
start=$(date +%s)
HERE=$(cd "$(dirname "$0")" && pwd)
WHEELS=${GPU_PROFILE_WHEELS:-$HERE}
PY=${PYTHON:-python3}
N=${GPU_PROFILE_COPIES:-4}
PROFILE=${GPU_PROFILE_PROFILE:-full}
DEADLINE=${GPU_PROFILE_DEADLINE_S:-480}
OUT=${GPU_PROFILE_OUT:-$(mktemp -d -t cnn-grader-gpu.XXXXXX)}
read -r -a EXERCISES <<< "${GPU_PROFILE_EXERCISES:-ex04_dense_baseline ex05_cnn ex06_regularization}"
CONCURRENT=${GPU_PROFILE_CONCURRENT:-ex05_cnn}
mkdir -p "$OUT"

say() { printf 'gpu_full_profile [%4ss] %s\n' "$(($(date +%s) - start))" "$*" >&2; }
left() { echo $((DEADLINE - ($(date +%s) - start))); }
within() {  # run "$@" in what is left of the deadline
    local t
    t=$(left)
    if [ "$t" -le 0 ]; then say "over the ${DEADLINE}s deadline"; exit 3; fi
    timeout "$t" "$@"
}

# 1. The backend: never TensorFlow here.
if [ -z "${KERAS_BACKEND:-}" ]; then
    if "$PY" -c "import jax" >/dev/null 2>&1; then KERAS_BACKEND=jax
    elif "$PY" -c "import torch" >/dev/null 2>&1; then KERAS_BACKEND=torch
    else say "neither JAX nor PyTorch imports with $PY"; exit 2
    fi
fi
export KERAS_BACKEND
say "backend $KERAS_BACKEND; profile $PROFILE; $N concurrent copies of $CONCURRENT; out $OUT"

# 2. What the grader still needs, from the carried wheels only.
if ! "$PY" -c "import grader, keras, nbclient, ipykernel, matplotlib" >/dev/null 2>&1; then
    if ! ls "$WHEELS"/cnn_grader-*.whl >/dev/null 2>&1; then
        say "the grader is not installed and $WHEELS holds no cnn_grader wheel (gpu_wheels.sh)"
        exit 2
    fi
    say "installing from $WHEELS (no index)"
    within "$PY" -m pip install -q --no-index --find-links "$WHEELS" "$WHEELS"/cnn_grader-*.whl keras
fi
if [ -z "${CNN_GRADER_COURSE:-}" ] && [ -d "$WHEELS/course/solutions" ]; then
    export CNN_GRADER_COURSE="$WHEELS/course"
fi
if [ -z "${CNN_GRADER_DATASETS:-}" ] && [ -d "$WHEELS/datasets" ]; then
    export CNN_GRADER_DATASETS="$WHEELS/datasets"
fi
export CNN_GRADER_CACHE_DIR=${CNN_GRADER_CACHE_DIR:-$OUT/cache}
SOLUTIONS=$("$PY" -c "from grader.course import solutions_dir; print(solutions_dir())")

# GPU memory, sampled each second while anything trains (where nvidia-smi is).
sampler=""
if command -v nvidia-smi >/dev/null 2>&1; then
    (while :; do
        nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits \
            | sed "s/^/$(date +%s), /" >> "$OUT/gpu_memory.csv" 2>/dev/null || true
        sleep 1
    done) &
    sampler=$!
fi
stop_sampler() { if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; fi; }
trap stop_sampler EXIT

# 3. Calibrate, then grade the three solutions (one grader process: one judge).
t0=$(date +%s)
within "$PY" -m grader.cli calibrate --profile "$PROFILE" "${EXERCISES[@]}" | tee "$OUT/calibrate.txt"
say "calibrated in $(($(date +%s) - t0))s"
t0=$(date +%s)
notebooks=()
for e in "${EXERCISES[@]}"; do notebooks+=("$SOLUTIONS/$e.ipynb"); done
within "$PY" -m grader.cli grade --profile "$PROFILE" --seed 1 --out "$OUT/grade" "${notebooks[@]}"
say "graded ${EXERCISES[*]} in $(($(date +%s) - t0))s"

# 4. N copies of one exercise (ex05) at once, one GPU shared.
mkdir -p "$OUT/copies"
pids=()
t0=$(date +%s)
echo "$t0" > "$OUT/concurrent_start"
for i in $(seq 1 "$N"); do
    cp "$SOLUTIONS/$CONCURRENT.ipynb" "$OUT/copies/${CONCURRENT}_$i.ipynb"
    within "$PY" -m grader.cli grade --profile "$PROFILE" --seed 1 --exercise "$CONCURRENT" \
        --out "$OUT/concurrent/$i" "$OUT/copies/${CONCURRENT}_$i.ipynb" > "$OUT/concurrent_$i.txt" 2>&1 &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
echo "$(date +%s)" > "$OUT/concurrent_end"
say "$N concurrent gradings of $CONCURRENT in $(($(date +%s) - t0))s ($failed failed)"
stop_sampler

# 5. The numbers.
"$PY" - "$OUT" "$SOLUTIONS" "$PROFILE" "$(($(date +%s) - start))" <<'EOF'
import ast, glob, json, os, re, sys
from collections import defaultdict

out, solutions, profile, wall = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
TRAIN = 60_000  # Fashion-MNIST's training images (TRAIN_SAMPLES = None)


def budget(report):
    """EPOCHS and TRAIN_SAMPLES the notebook trained with: its parameters cell, then what the
    grader injected (the report's note)."""
    values = {"EPOCHS": 1, "TRAIN_SAMPLES": None}
    nb = json.load(open(os.path.join(solutions, report["exercise"] + ".ipynb")))
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            for node in ast.parse("".join(cell["source"])).body:
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    try:
                        values[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
    for note in report["execution"]["notes"]:
        if "injected" in note:
            for name, value in re.findall(r"(EPOCHS|TRAIN_SAMPLES)=(\w+)", note):
                values[name] = None if value == "None" else int(value)
    return values["EPOCHS"], values["TRAIN_SAMPLES"] or TRAIN


def line(report):
    epochs, samples = budget(report)
    ex = report["execution"]
    seconds = ex["duration_s"]
    acc = next((c["details"].get("accuracy") for c in report["checks"]
                if c["id"].endswith("_accuracy")), None)
    mem = ex.get("peak_memory_bytes") or 0
    return (f"{report['exercise']:22s} {report['score']:>4g}/{report['max_score']:<3g} "
            f"acc {acc if acc is not None else '-':<6} {seconds:7.1f}s  "
            f"{epochs * samples / seconds:9.0f} examples/s  kernel peak {mem / 2**20:6.0f} MiB")


print(f"\n== cnn-grader on {os.environ.get('KERAS_BACKEND')}, profile {profile} ==")
print("examples/s: epochs x training images / the notebook's whole run (imports, evaluation "
      "included): a lower bound on training throughput")
print("-- the three solutions, graded one after another (once calibrated)")
for path in sorted(glob.glob(os.path.join(out, "grade", "*.json"))):
    print(line(json.load(open(path))))
reports = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "concurrent", "*", "*.json")))]
span = int(open(os.path.join(out, "concurrent_end")).read()) - int(
    open(os.path.join(out, "concurrent_start")).read())
print(f"-- {len(reports)} copies of {os.environ.get('GPU_PROFILE_CONCURRENT', 'ex05_cnn')} at once, {span}s wall")
for report in reports:
    print(line(report))
if reports:
    total = sum(budget(r)[0] * budget(r)[1] for r in reports)
    print(f"together: {total / max(span, 1):.0f} examples/s over the {span}s wall time")
gpu = os.path.join(out, "gpu_memory.csv")
if os.path.exists(gpu):
    peak, at = defaultdict(int), defaultdict(int)
    for row in open(gpu):
        parts = [p.strip() for p in row.split(",")]
        if len(parts) == 3 and parts[2].isdigit():
            peak[parts[1]] = max(peak[parts[1]], int(parts[2]))
            at[parts[0]] += int(parts[2])
    if peak:
        print(f"GPU memory per process (peak, MiB): {sorted(peak.values(), reverse=True)}; "
              f"all together at most {max(at.values())} MiB")
else:
    print("GPU memory: no nvidia-smi here")
print(f"wall time: {wall}s (deadline {os.environ.get('GPU_PROFILE_DEADLINE_S', '480')}s)")
EOF
exit $((failed > 0 ? 1 : 0))
