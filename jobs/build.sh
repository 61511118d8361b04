#!/usr/bin/env bash
# Build the Flink test jobs against one Flink version.
#   jobs/build.sh FLINK_VERSION [MODULE]      (MODULE defaults to allround; also exactly-once,
#                                             state-machine)
# Maven's output goes to stderr; the last line on stdout is the jar's absolute path:
#   jobs/<module>/target/flink-<FLINK_VERSION>/flink-jepsen-<module>.jar
#   jobs/build.sh --test FLINK_VERSION        runs every module's argument checks (mvn test)
#                                             with the same version-derived settings
set -euo pipefail

goal=package
if [ "${1:-}" = --test ]; then
  goal=test
  shift
fi
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ] || { [ $goal = test ] && [ $# -gt 1 ]; }; then
  echo "usage: $0 FLINK_VERSION [MODULE]   (e.g. $0 2.3.0)" >&2
  echo "       $0 --test FLINK_VERSION" >&2
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
# property values only, so the pom cannot compute these; jobs/README.md has the table):
#  - flink.api: the source shim of allround and common (src/legacy/java for 1.13-1.19,
#    src/modern/java after);
#  - flink.streaming.artifact: flink-streaming-java had a Scala suffix before 1.15;
#  - the Kafka connector: released with Flink (same version) up to 1.16, with a Scala suffix
#    before 1.15, then separately per Flink minor version. Versions without their own release
#    use the nearest older one (5.0.0-2.2 was checked to run on Flink 2.3.0). Only the Kafka
#    modules ship it; common (built with every module, allround too) compiles against it as
#    provided;
#  - kafka.api: common's Kafka sink shim (src/kafka-<kafka.api>/java): producer (1.13, no
#    KafkaSink yet), sink-1.14 (1.14 and 1.15: KafkaSink's older builder), sink (1.16 on);
#  - flink.connector.base.scope: flink-dist has flink-connector-base from 1.15 on; before, the
#    Kafka jobs shade it.
minor="$(echo "$version" | cut -d. -f1,2)"
major="${minor%%.*}"; minor_n="${minor#*.}"
if ! [[ "$major" =~ ^[0-9]+$ && "$minor_n" =~ ^[0-9]+$ ]] || { [ "$major" = 1 ] && [ "$minor_n" -lt 13 ]; }; then
  echo "error: Flink $version is not supported: the jobs build for 1.13 and later" >&2
  exit 2
fi
# In-tree connector releases carry Flink's own version; a bare minor gets its last patch.
in_tree="$version"
case "$version" in
  1.13) in_tree=1.13.6 ;; 1.14) in_tree=1.14.6 ;; 1.15) in_tree=1.15.4 ;; 1.16) in_tree=1.16.3 ;;
esac
args=()
if [ "$major" = 1 ] && [ "$minor_n" -lt 20 ]; then
  args+=(-Dflink.api=legacy)
  if [ "$minor_n" -lt 15 ]; then
    args+=(-Dflink.streaming.artifact=flink-streaming-java_2.12
           -Dkafka.connector.artifact=flink-connector-kafka_2.12
           -Dflink.connector.base.scope=compile)
  fi
fi
case "$minor" in
  1.13) args+=(-Dkafka.connector.version="$in_tree" -Dkafka.api=producer) ;;
  1.14|1.15) args+=(-Dkafka.connector.version="$in_tree" -Dkafka.api=sink-1.14) ;;
  1.16) args+=(-Dkafka.connector.version="$in_tree") ;;
  1.17) args+=(-Dkafka.connector.version=3.1.0-1.17) ;;
  1.18) args+=(-Dkafka.connector.version=3.2.0-1.18) ;;
  1.19) args+=(-Dkafka.connector.version=3.3.0-1.19) ;;
  1.20) args+=(-Dkafka.connector.version=3.4.0-1.20) ;;
  2.0) args+=(-Dkafka.connector.version=4.0.1-2.0) ;;
  2.1) args+=(-Dkafka.connector.version=5.0.0-2.1) ;;
  *) args+=(-Dkafka.connector.version=5.0.0-2.2) ;;
esac

if [ $goal = test ]; then
  # All modules; surefire prints each test class's results.
  exec mvn -B -Dstyle.color=never -f "$here/pom.xml" -Dflink.version="$version" "${args[@]}" test
fi

mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -pl "$module" -am \
  -Dflink.version="$version" "${args[@]}" \
  package -DskipTests >&2

jar="$here/$module/target/flink-$version/flink-jepsen-$module.jar"
if [ ! -f "$jar" ]; then
  echo "error: build finished but $jar is missing" >&2
  exit 1
fi
echo "$jar"
