#!/usr/bin/env bash
# The default scenario (standalone session with ZooKeeper HA, allround job, kill-task-managers)
# once per Flink release, one after another, to see which releases reach a verdict:
#   bin/check-versions.sh [--time-limit S] VERSION...      (e.g. 1.13.6 1.18.1 2.0.2)
# Prints "version exit-status verdict-line store" per release; exits 1 if any run did not end
# valid. Runs on the nodes of $FLINK_JEPSEN_PREFIX (bring them up first with `nodes up`).
set -uo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
limit=30
if [ "${1:-}" = --time-limit ]; then limit="$2"; shift 2; fi
if [ $# -eq 0 ]; then
  echo "usage: $0 [--time-limit S] VERSION..." >&2
  exit 254
fi
store="${FJ_CHECK_STORE:-/tmp/flink-jepsen-versions}"
mkdir -p "$store"
failed=0
for v in "$@"; do
  out="$("$here/bin/flink-jepsen" test --flink-version "$v" --time-limit "$limit" \
          --store "$store/$v" 2>"$store/$v.err")"
  rc=$?
  echo "$v $rc $(printf '%s\n' "$out" | tail -n 1) $store/$v/latest"
  [ "$rc" = 0 ] || failed=1
done
exit "$failed"
