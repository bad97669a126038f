#!/usr/bin/env bash
# `reproduce --jobs 2` of an older leporid (claim files, helper processes) against this one's
# `--scheduler local:2` (Dask), interleaved A B B A, each run from an empty results folder and an
# empty embedding cache. Usage: OLD_SRC=<old checkout>/src NEW_SRC=<this checkout>/src \
#   DATA=<ml-100k folder> OUT=<scratch folder> benchmarks/bench_grid_dask.sh [reproduce options]
set -euo pipefail
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(all --budget smoke --models dlr2,toppop --inits random,leporid)
run() {     # name src scheduler-options...
  local name=$1 src=$2; shift 2
  local out="$OUT/$name"
  rm -rf "$out" "$out.cache"; mkdir -p "$out.cache"
  local t0; t0=$(date +%s.%N)
  LEPORID_CACHE="$out.cache" PYTHONPATH="$src" python -m leporid reproduce "${ARGS[@]}" \
    --dataset "$DATA" --out "$out" --no-progress "$@" > "$out.log" 2>&1
  echo "$name $(echo "$(date +%s.%N) - $t0" | bc) s" | tee -a "$OUT/times.txt"
}
run new1 "$NEW_SRC" --scheduler local:2
run old1 "$OLD_SRC" --jobs 2
run old2 "$OLD_SRC" --jobs 2
run new2 "$NEW_SRC" --scheduler local:2
