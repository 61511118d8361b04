#!/usr/bin/env bash
# Runs flink-jepsen tests in the control container against the node containers, over SSH, the
# way it runs against real hosts. Start the containers first with docker/up.sh.
#   docker/run-tests.sh [standalone|yarn|all] [more `flink-jepsen test` options...]
# FJ_DRY_RUN=1 prints each command instead of running it (the test suite checks them with the
# real command-line parser). FJ_CONTROL names another control container.
set -uo pipefail
container="${FJ_CONTROL:-jepsen-control}"
what="${1:-standalone}"
[ $# -gt 0 ] && shift
extra=("$@")

nodes=n1,n2,n3,n4,n5
key=/root/.ssh/id_ed25519          # installed by control-entrypoint.sh from docker/secret/
shared=/var/lib/flink-jepsen-shared  # the compose volume every node mounts at this path
common=(--remote ssh --nodes "$nodes" --username root --ssh-private-key "$key")

status=0
run() {
  local cmd=(flink-jepsen test "${common[@]}" "$@" ${extra[@]+"${extra[@]}"})
  if [ "${FJ_DRY_RUN:-}" = 1 ]; then
    printf '%q ' "${cmd[@]}"
    printf '\n'
    return
  fi
  echo "== ${cmd[*]}" >&2
  docker exec -w /flink-jepsen "$container" "${cmd[@]}" || status=1
}

standalone() {
  # ZooKeeper HA, JobManagers on n1 and n2; HA storage on the shared volume
  for gen in kill-task-managers kill-job-managers partition-random-halves; do
    run --test-spec test-specs/standalone-session.edn --nemesis-gen "$gen" \
        --ha-storage-dir "file://$shared/ha"
  done
}

yarn() {
  # HDFS and YARN on the nodes; HA storage and checkpoints in HDFS
  for gen in kill-task-managers fail-name-node-during-recovery; do
    run --test-spec test-specs/yarn-session.edn --nemesis-gen "$gen" \
        --ha-storage-dir hdfs:///flink/ha
  done
}

case "$what" in
  standalone) standalone ;;
  yarn) yarn ;;
  all) standalone; yarn ;;
  *) echo "usage: $0 [standalone|yarn|all] [flink-jepsen test options...]" >&2; exit 254 ;;
esac
exit "$status"
