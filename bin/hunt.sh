#!/usr/bin/env bash
# A bug hunt: long randomized runs of Jepsen's combined fault mix, round after round over Flink
# versions x deployment modes, until a deadline. Every run is one row of a resumable sweep file:
# stopping and starting again (the same OUT) carries on with the next repetition, so hours of
# hunting can be spread over many sittings. Each run holds /tmp/fj-cluster.lock, so other cluster
# runs on this machine (tests, scenarios) wait for it instead of sharing the cores.
#
# usage: bin/hunt.sh OUT_DIR [HOURS]     (default 1 hour; rows already in OUT_DIR/hunt.jsonl stay)
# env:   HUNT_VERSIONS  (default "2.3.0 1.20.5")
#        HUNT_MODES     (default "standalone-session standalone-application yarn-application";
#                        yarn-session and yarn-job too; yarn-job is skipped on Flink 2)
#        HUNT_NEMESIS   (default kill,pause,partition,packet,clock)
#        HUNT_TIME_LIMIT seconds of faults per run (default 600)
# Every invalid run is kept in OUT_DIR/store with its history and logs; triage starts from its
# report.html. The table at the end covers every row of the file.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
py="$here/.venv/bin/python"
out="${1:?usage: $0 OUT_DIR [HOURS]}"
hours="${2:-1}"
versions=(${HUNT_VERSIONS:-2.3.0 1.20.5})
modes=(${HUNT_MODES:-standalone-session standalone-application yarn-application})
nemesis="${HUNT_NEMESIS:-kill,pause,partition,packet,clock}"
limit="${HUNT_TIME_LIMIT:-600}"
mkdir -p "$out"
deadline=$(( $(date +%s) + $(printf '%.0f' "$(echo "$hours * 3600" | bc -l)") ))

# The round to start with: one past the most repetitions any point already has.
round=$("$py" - "$out/hunt.jsonl" <<'EOF'
import json, sys
from pathlib import Path
p = Path(sys.argv[1])
reps = [json.loads(l).get("repetition", 0) for l in p.read_text().splitlines() if l.strip()] \
    if p.exists() else []
print(max(reps, default=0) or 1)
EOF
)

while [ "$(date +%s)" -lt "$deadline" ]; do
  for v in "${versions[@]}"; do
    for m in "${modes[@]}"; do
      [ "$(date +%s)" -lt "$deadline" ] || break 3
      # Flink 2 has no per-job mode; the harness refuses it, so the hunt does not ask.
      if [ "$m" = yarn-job ] && [ "${v%%.*}" -ge 2 ]; then continue; fi
      # --repetitions N runs only what the file lacks: this point's repetition N (and any
      # earlier one a stopped hunt left out).
      flock /tmp/fj-cluster.lock "$py" -m flink_jepsen sweep \
        --grid flink-version="$v" --grid deployment-mode="$m" --repetitions "$round" \
        --nemesis "$nemesis" --time-limit "$limit" \
        --out "$out/hunt.jsonl" --store "$out/store" || echo "hunt: $v $m ended with $?" >&2
    done
  done
  round=$(( round + 1 ))
done

"$py" - "$out/hunt.jsonl" <<'EOF'
import sys
from pathlib import Path
import pandas as pd
from flink_jepsen.api.sweep import read_rows, summary
rows = pd.DataFrame(read_rows(Path(sys.argv[1])))
print(summary(rows, ["flink_version", "deployment_mode"]) if not rows.empty else "no runs")
EOF
