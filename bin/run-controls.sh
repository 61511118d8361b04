#!/usr/bin/env bash
# The controls: planted failures that must be flagged and healthy runs that must pass, each
# printed as scenario, expected, got; exits 1 on any mismatch.
#   bin/run-controls.sh [--cheap] [--runs N] [--only NAME,...] [--store DIR]
# --cheap: the ones CI runs (about 3 minutes); the full set with --runs 10 takes hours.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
if [ "${FJ_SKIP_INSTALL:-0}" != 1 ]; then
  "$here/bin/install.sh" --quiet
fi
exec "${FJ_VENV:-$here/.venv}/bin/python" -m flink_jepsen.api.controls "$@"
