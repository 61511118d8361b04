#!/usr/bin/env bash
# The default scenario over 8 Flink releases (1.14 to 2.3) as one sweep, timed: the warm figure
# (distributions, Java runtimes and job jars already cached) is the one the README reports.
# usage: benchmarks/bench_version_sweep.sh [OUT_DIR]   (default /tmp/fj-bench-sweep; rows there resume)
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
out="${1:-/tmp/fj-bench-sweep}"
mkdir -p "$out"
start=$(date +%s)
"$here/.venv/bin/python" -m flink_jepsen sweep \
  --grid flink-version=1.14.6,1.15.4,1.16.3,1.17.2,1.18.1,1.19.3,1.20.5,2.3.0 \
  --grid nemesis-gen=kill-task-managers --time-limit 30 \
  --out "$out/sweep.jsonl" --store "$out/store" || true
echo "sweep of 8 releases: $(( $(date +%s) - start )) s"
