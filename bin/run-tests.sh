#!/usr/bin/env bash
# The original project's entry point: run its test matrix ITERATIONS times against a Flink
# distribution (a tarball URI; without one, the default release from PyPI's official binaries).
#   bin/run-tests.sh ITERATIONS [TARBALL]
# FJ_MATRIX selects parts of the matrix (default: "yarn standalone kafka").
# Each run is its own directory in store/. The matrix ends with a summary as Jepsen's test-all:
# the runs that were not valid, by outcome, then the counts of valid, invalid, unknown and
# crashed runs; it exits with the worst run's status, in the order crashed (255) > unknown (2) >
# invalid (1) > valid (0). A run that exits 130 (interrupted) ends the matrix at once with 130.
set -uo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
if [ $# -lt 1 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 ITERATIONS [TARBALL]" >&2
  exit 254
fi
iterations="$1"
matrix=" ${FJ_MATRIX:-yarn standalone kafka} "
for part in $matrix; do
  case "$part" in yarn|standalone|kafka) ;; *)
    echo "FJ_MATRIX: unknown part '$part' (parts: yarn standalone kafka)" >&2; exit 254 ;;
  esac
done
want() { [[ "$matrix" == *" $1 "* ]]; }
common=()
[ $# -ge 2 ] && common+=(--tarball "$2")
specs="$here/test-specs"
valid=(); invalid=(); unknown=(); crashed=()
summary() {
  echo
  local title list
  for title in Invalid Unknown Crashed; do
    case "$title" in
      Invalid) list=("${invalid[@]+"${invalid[@]}"}") ;;
      Unknown) list=("${unknown[@]+"${unknown[@]}"}") ;;
      Crashed) list=("${crashed[@]+"${crashed[@]}"}") ;;
    esac
    if [ ${#list[@]} -gt 0 ] && [ -n "${list[0]}" ]; then
      printf '# %s runs\n\n' "$title"
      printf '%s\n' "${list[@]}"
      echo
    fi
  done
  echo "${#valid[@]} valid"
  echo "${#invalid[@]} invalid"
  echo "${#unknown[@]} unknown"
  echo "${#crashed[@]} crashed"
}
worst() {
  if [ ${#crashed[@]} -gt 0 ]; then echo 255
  elif [ ${#unknown[@]} -gt 0 ]; then echo 2
  elif [ ${#invalid[@]} -gt 0 ]; then echo 1
  else echo 0; fi
}
run() {
  echo "== flink-jepsen test $*" >&2
  local before after rc=0 where
  before="$(readlink -f store/latest 2>/dev/null || true)"
  "$here/bin/flink-jepsen" test "${common[@]}" "$@" || rc=$?
  after="$(readlink -f store/latest 2>/dev/null || true)"
  where="$after"
  if [ -z "$after" ] || [ "$after" = "$before" ]; then where="(no run stored) test $*"; fi
  case "$rc" in
    0) valid+=("$where") ;;
    1) invalid+=("$where") ;;
    2) unknown+=("$where") ;;
    130) echo "interrupted" >&2; summary; exit 130 ;;
    *) crashed+=("$where (exit status $rc)") ;;
  esac
}
# Per-job mode exists only in Flink 1.x; with 2.x the application mode takes its place.
per_job="$specs/yarn-application.edn"
if [ $# -ge 2 ] && [[ "$(basename "$2")" =~ flink-1\. ]]; then per_job="$specs/yarn-job.edn"; fi
for i in $(seq 1 "$iterations"); do
  echo "Executing run #$i of $iterations" >&2
  if want yarn; then
    # YARN session cluster
    for gen in kill-task-managers kill-job-managers fail-name-node-during-recovery; do
      run --nemesis-gen "$gen" --test-spec "$specs/yarn-session.edn"
    done
    # YARN per-job (Flink 1.x) or application (Flink 2.x) cluster
    for gen in kill-task-managers kill-job-managers fail-name-node-during-recovery; do
      run --nemesis-gen "$gen" --test-spec "$per_job"
    done
  fi
  if want standalone; then
    # Standalone session cluster with ZooKeeper HA
    run --nemesis-gen kill-job-managers --test-spec "$specs/standalone-session.edn"
    run --nemesis-gen kill-job-managers --client-gen cancel-jobs \
        --test-spec "$specs/standalone-session.edn"
  fi
  if want kafka; then
    # The original's Kafka scenario: two jobs sharing a topic, TaskManagers killed in bursts
    run --nemesis-gen kill-task-managers-bursts --job-running-healthy-threshold 15 \
        --test-spec "$specs/kafka-two-jobs.edn"
    # Beyond the original: every record through Kafka and Flink exactly once, under faults
    for gen in kill-task-managers kill-kafka-broker partition-kafka-broker; do
      run --workload exactly-once --nemesis-gen "$gen" \
          --test-spec "$specs/standalone-exactly-once.edn"
    done
  fi
done
summary
exit "$(worst)"
