#!/usr/bin/env bash
# Build the Flink test jobs against one Flink version.
#   jobs/build.sh FLINK_VERSION [MODULE]      (MODULE defaults to allround)
# Maven's output goes to stderr; the last line on stdout is the jar's absolute path:
#   jobs/<module>/target/flink-<FLINK_VERSION>/flink-jepsen-<module>.jar
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then
  echo "usage: $0 FLINK_VERSION [MODULE]   (e.g. $0 2.3.0)" >&2
  exit 2
fi
version="$1"
module="${2:-allround}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v mvn >/dev/null 2>&1; then
  echo "error: Maven (mvn) not found on PATH; install Maven 3.6+ (e.g. apt-get install maven)" >&2
  exit 127
fi
if [ ! -f "$here/$module/pom.xml" ]; then
  echo "error: no job module '$module' in $here" >&2
  exit 2
fi

mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -pl "$module" -am \
  -Dflink.version="$version" package -DskipTests >&2

jar="$here/$module/target/flink-$version/flink-jepsen-$module.jar"
if [ ! -f "$jar" ]; then
  echo "error: build finished but $jar is missing" >&2
  exit 1
fi
echo "$jar"
