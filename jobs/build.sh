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

# What differs by Flink release, derived from the version (Maven 3.8 profiles match exact
# property values only, so the pom cannot compute these):
#  - flink.api: allround's source shim (src/legacy/java for 1.13-1.19, src/modern/java after);
#  - flink.streaming.artifact: flink-streaming-java had a Scala suffix before 1.15;
#  - kafka.connector.version: the Kafka connector is released per Flink minor version.
#    Releases on Maven Central: 3.4.0-1.20, 4.0.1-2.0, 5.0.0-2.1, 5.0.0-2.2. Versions without
#    their own release use the nearest older one (5.0.0-2.2 was checked to run on Flink 2.3.0).
#    Only the Kafka modules ship it; common (built with every module, allround too) compiles
#    against it as provided, so for a version not listed here allround builds with the pom's
#    default. The Kafka jobs use 1.20's APIs and have no legacy shim: they need 1.20 or later.
minor="$(echo "$version" | cut -d. -f1,2)"
major="${minor%%.*}"; minor_n="${minor#*.}"
api_args=()
if [ "$major" = 1 ] && [ "$minor_n" -lt 20 ]; then
  api_args+=(-Dflink.api=legacy)
  if [ "$minor_n" -lt 15 ]; then
    api_args+=(-Dflink.streaming.artifact=flink-streaming-java_2.12)
  fi
fi
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
  echo "error: job $module needs Flink 1.20 or later (its Kafka connector and APIs; got" \
    "$version); allround builds for every release from 1.13" >&2
  exit 2
fi

mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -pl "$module" -am \
  -Dflink.version="$version" ${api_args[@]+"${api_args[@]}"} ${kafka_arg[@]+"${kafka_arg[@]}"} \
  package -DskipTests >&2

jar="$here/$module/target/flink-$version/flink-jepsen-$module.jar"
if [ ! -f "$jar" ]; then
  echo "error: build finished but $jar is missing" >&2
  exit 1
fi
echo "$jar"
