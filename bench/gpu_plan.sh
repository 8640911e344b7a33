#!/usr/bin/env bash
# The GPU measurements of issue 24 as one script, for a session that is lent a GPU:
# bench/search_step.py at configs a and b in float32 and bf16, channels_last on and off,
# eager and compiled (default, and reduce-overhead for CUDA graphs), then one CIFAR-shaped
# synthetic search epoch (bench/search_epoch.py) whose plan line gives the hours of a
# 150-epoch CIFAR-10 SNAS search on that GPU (build + first epoch + 149 × the second).
# Every JSON line also goes to $OUT/gpu_plan.jsonl (or ./gpu_plan.jsonl).
#
#   bench/gpu_plan.sh            # on the GPU machine (compiles take minutes: ~10 min in all)
#   bench/gpu_plan.sh --dry-run  # here: print the commands, run the epoch script's CPU path tiny
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
export SNAS_BENCH_OUT=${SNAS_BENCH_OUT:-${OUT:-.}/gpu_plan.jsonl}
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-$(mktemp -d)/inductor}
STEP="$PYTHON bench/search_step.py --device cuda --configs a b --repeats 5"
PLAN=(
  "$STEP --variants snas snas-compiled gdas gdas-compiled darts --compile default"
  "$STEP --variants snas snas-compiled gdas darts --compile default --bf16"
  "$STEP --variants snas gdas --bf16 --no-channels-last"
  "$STEP --variants snas snas-compiled --compile reduce-overhead --bf16"
  "$PYTHON bench/search_epoch.py --device cuda --bf16 --compile default --epochs 2"
  "$PYTHON bench/search_epoch.py --device cuda --bf16 --epochs 1"
)
if [[ "${1:-}" == "--dry-run" ]]; then
  printf '%s\n' "${PLAN[@]}"
  exec $PYTHON bench/search_epoch.py --device cpu --layers 3 --init-channels 4 --train-images 256 \
    --test-images 64 --epochs 2
fi
for command in "${PLAN[@]}"; do
  echo "+ $command" >&2
  $command
done
