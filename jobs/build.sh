#!/usr/bin/env bash
# Build the Flink test jobs against one Flink version.
#   jobs/build.sh FLINK_VERSION [MODULE]      (MODULE defaults to allround; also exactly-once,
#                                             state-machine)
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
if [ "$module" = common ] || [ ! -f "$here/$module/pom.xml" ]; then
  # common is the library the Kafka jobs share (built with them through -am), not a job.
  echo "error: no job module '$module' in $here" >&2
  exit 2
fi

# The Kafka connector is released per Flink minor version and cannot be picked inside the pom
# (Maven 3.8 profiles match exact property values only). Releases on Maven Central:
# 3.4.0-1.20, 4.0.1-2.0, 5.0.0-2.1, 5.0.0-2.2. Versions without their own release use the
# nearest older one (5.0.0-2.2 was checked to run on Flink 2.3.0). Only the Kafka modules ship
# it; common (built with every module, allround too) compiles against it as provided, so for a
# version not listed here allround builds with the pom's default. Passing it always keeps the
# command the same for every module.
case "$version" in
  1.20|1.20.*) kafka_connector=3.4.0-1.20 ;;
  2.0|2.0.*) kafka_connector=4.0.1-2.0 ;;
  2.1|2.1.*) kafka_connector=5.0.0-2.1 ;;
  2.*) kafka_connector=5.0.0-2.2 ;;
  *) kafka_connector="" ;;
esac
kafka_arg=()
if [ -n "$kafka_connector" ]; then
  kafka_arg=(-Dkafka.connector.version="$kafka_connector")
elif [ "$module" != allround ]; then
  echo "error: no Kafka connector known for Flink $version (module $module needs one;" \
    "known: 1.20.x, 2.x)" >&2
  exit 2
fi

mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -pl "$module" -am \
  -Dflink.version="$version" ${kafka_arg[@]+"${kafka_arg[@]}"} package -DskipTests >&2

jar="$here/$module/target/flink-$version/flink-jepsen-$module.jar"
if [ ! -f "$jar" ]; then
  echo "error: build finished but $jar is missing" >&2
  exit 1
fi
echo "$jar"
