"""The project's own Flink test jobs (jobs/ in the repository), built with Maven for the Flink
version under test and cached by version and source checksum."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
from pathlib import Path

from flink_jepsen import paths
from flink_jepsen.errors import SetupError

log = logging.getLogger("flink_jepsen.workloads.jobs")


def jobs_dir() -> Path:
    """jobs/ of the source tree (FLINK_JEPSEN_JOBS overrides: an installed package has none)."""
    env = os.environ.get("FLINK_JEPSEN_JOBS")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3] / "jobs")
    for c in candidates:
        if (c / "build.sh").exists():
            return c
    raise SetupError("cannot find the project's jobs/ directory (with build.sh): set "
                     "FLINK_JEPSEN_JOBS to it, or give the job's jar in the test spec")


# Modules every job may depend on (jobs/pom.xml builds them with -am): their sources are part of
# each job's cache key, so a change there rebuilds every job.
SHARED_MODULES = ("common",)


def _source_digest(module_dir: Path, parent_pom: Path) -> str:
    root = parent_pom.parent
    h = hashlib.sha256(parent_pom.read_bytes())
    build_script = root / "build.sh"  # it picks the Kafka connector's version
    if build_script.exists():
        h.update(build_script.read_bytes())
    dirs = [module_dir] + [root / m for m in SHARED_MODULES if (root / m) != module_dir]
    for d in dirs:
        if not d.is_dir():
            continue
        for f in sorted(p for p in d.rglob("*")
                        if p.is_file() and "target" not in p.relative_to(d).parts):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def builtin_jar(module: str, flink_version: str) -> Path:
    root = jobs_dir()
    module_dir = root / module
    if not (module_dir / "pom.xml").exists():
        raise SetupError(f"no job module {module!r} in {root}")
    digest = _source_digest(module_dir, root / "pom.xml")
    cached = paths.cache() / "jobs" / flink_version / f"{module}-{digest}.jar"
    if cached.exists():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    # One build at a time per Flink version: the jobs share jobs/common/target/flink-<version>.
    with open(cached.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cached.exists():  # built by another run while we waited
            return cached
        log.info("building job %s for Flink %s with Maven", module, flink_version)
        proc = subprocess.run(["bash", str(root / "build.sh"), flink_version, module],
                              capture_output=True, text=True, timeout=1200)
        if proc.returncode != 0:
            raise SetupError(f"building job {module} for Flink {flink_version} failed: "
                             f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
        built = Path(proc.stdout.strip().splitlines()[-1])
        tmp = cached.with_name(cached.name + ".tmp")
        shutil.copy2(built, tmp)
        tmp.replace(cached)  # never a half-copied jar under the final name
    return cached
