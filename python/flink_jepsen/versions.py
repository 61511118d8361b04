"""Every version the harness installs, pinned in one place, with the checksums of what it
downloads. A download whose checksum differs is refused; a version without a pinned checksum is
verified against the registry's own hashes (pip and `mvn -C` check them) and its checksum is then
recorded in the cache, so a later change is still caught."""

from __future__ import annotations

FLINK_DEFAULT = "2.3.0"  # the newest 2.x release
FLINK_LTS = "1.20.5"

# sha256 of the PyPI files that make a Flink home (apache-flink carries bin/ and conf/,
# apache-flink-libraries carries lib/, opt/, plugins/).
FLINK_PYPI_SHA256 = {
    "2.3.0": {
        "apache_flink-2.3.0-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64."
        "manylinux_2_17_x86_64.manylinux2014_x86_64.whl":
            "0e5f612704de1610b153e919c0564b62ad513cddfcf4960f5a021658cdf41a13",
        "apache_flink_libraries-2.3.0-py2.py3-none-any.whl":
            "38ece876553286b3a285cf344c2d2038f8a7ca10da5df54d5107250386d64151",
    },
    "1.20.5": {
        "apache_flink-1.20.5-cp311-cp311-manylinux_2_5_x86_64.manylinux1_x86_64."
        "manylinux_2_17_x86_64.manylinux2014_x86_64.whl":
            "6e8ec098a7c06ea34d01fd540e81d44703a90e3bda74052dcbcbb7db5253c10f",
        "apache_flink_libraries-1.20.5.tar.gz":
            "e6aee62ea1a1fe7b32e28894ad079f3f1a50a372a4caac3df52405267f4228c8",
    },
}

ZOOKEEPER = "3.8.6"
ZOOKEEPER_JAR_SHA256 = "a00943a87b9c83379267ebda487be1ddb83e9997a03e59f9199338a033b71ed7"
# The server needs these at run time, though zookeeper's pom marks them provided.
ZOOKEEPER_EXTRA = [
    ("io.dropwizard.metrics", "metrics-core", "4.1.12.1"),
    ("org.xerial.snappy", "snappy-java", "1.1.10.5"),
]

HADOOP = "3.4.3"  # the newest 3.4 on Maven Central; run from its jars (no Apache tarball here)

KAFKA = "4.4.0"  # the newest 4.x (KRaft only) on Maven Central; run from its jars
KAFKA_JAR_SHA256 = "76d3314f873571677ff98620ab9a431e508e3687f921a3df4f70d692a970475e"
# The server logs through slf4j; its pom leaves the binding to the distribution's scripts.
KAFKA_EXTRA = [("org.apache.logging.log4j", "log4j-slf4j-impl", "2.25.5")]
