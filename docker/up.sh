#!/usr/bin/env bash
# Brings up the Docker set-up: generates the control's SSH key (once, into docker/secret/),
# builds the images and starts the control container and the nodes n1..n5.
#   docker/up.sh [--no-build]
# Then: docker exec -it jepsen-control bash   (or docker/run-tests.sh from this host)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
compose=(docker compose -f "$here/docker-compose.yml")

if ! command -v docker >/dev/null 2>&1; then
  echo "up.sh: no docker command: install Docker Engine and its compose plugin" >&2
  exit 1
fi
if ! docker compose version >/dev/null 2>&1; then
  echo "up.sh: 'docker compose' does not work: install the Docker compose plugin (v2)" >&2
  exit 1
fi
if ! command -v ssh-keygen >/dev/null 2>&1; then
  echo "up.sh: no ssh-keygen: install openssh-client (it makes the nodes' key)" >&2
  exit 1
fi

mkdir -p "$here/secret" "$here/store"
chmod 700 "$here/secret"
if [ ! -s "$here/secret/id_ed25519" ]; then
  echo "up.sh: generating the control's key in $here/secret/" >&2
  ssh-keygen -q -t ed25519 -N '' -C flink-jepsen-control -f "$here/secret/id_ed25519"
fi

build=(--build)
[ "${1:-}" = "--no-build" ] && build=()
"${compose[@]}" up -d ${build[@]+"${build[@]}"}
"${compose[@]}" ps

cat <<'MSG'

The control container and nodes n1..n5 are up. Next:

  docker exec -it jepsen-control bash          a shell on the control (then: ssh n1 hostname)
  docker/run-tests.sh standalone               the standalone-session scenarios over SSH
  docker/run-tests.sh yarn                     YARN on HDFS (HA storage in HDFS)
  docker exec -d jepsen-control flink-jepsen serve --host 0.0.0.0 --port 8080
                                               then browse http://127.0.0.1:8080/
Runs land in docker/store/. Stop everything with:
  docker compose -f docker/docker-compose.yml down       (add -v to drop the volumes too)
MSG
