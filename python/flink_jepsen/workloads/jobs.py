"""The project's own Flink test jobs (jobs/ in the repository), built with Maven for the Flink
version under test and cached by version and source checksum."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from flink_jepsen import paths
from flink_jepsen.errors import SetupError

log = logging.getLogger("flink_jepsen.workloads.jobs")


def jobs_dir() -> Path:
    """The jobs' sources, where Maven may build them: FLINK_JEPSEN_JOBS if it has build.sh;
    else jobs/ of the source tree this package runs from (a clone, an editable install); else
    the sources an installed package carries (flink_jepsen/jobs_src, put there by
    CMakeLists.txt), copied once into the cache, since site-packages may be read-only and Maven
    writes target/ beside them."""
    env = os.environ.get("FLINK_JEPSEN_JOBS")
    for c in ([Path(env)] if env else []) + [source_tree_jobs_dir()]:
        if (c / "build.sh").exists():
            return c
    if (packaged_jobs_dir() / "build.sh").exists():
        return _writable_copy(packaged_jobs_dir())
    raise SetupError("cannot find the project's jobs/ directory (with build.sh): set "
                     "FLINK_JEPSEN_JOBS to it, or give the job's jar in the test spec")


def source_tree_jobs_dir() -> Path:
    """jobs/ beside python/ when the package runs from a clone (or an editable install)."""
    return Path(__file__).resolve().parents[3] / "jobs"


def packaged_jobs_dir() -> Path:
    """Where an installed package (a wheel) carries the jobs' sources, read-only."""
    return Path(__file__).resolve().parents[1] / "jobs_src"


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*")
                    if p.is_file() and "target" not in p.relative_to(root).parts):
        h.update(str(f.relative_to(root)).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _writable_copy(src: Path) -> Path:
    """src copied to the cache under its content's digest (so a new release, or changed sources,
    gets a copy of its own), whole or not at all: built jars stay keyed by their sources."""
    dest = paths.cache() / "jobs-src" / _tree_digest(src)
    if (dest / "build.sh").exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".copy-", dir=dest.parent))
    try:
        shutil.copytree(src, tmp / "jobs", ignore=shutil.ignore_patterns("target"))
        for d in [tmp / "jobs", *(p for p in (tmp / "jobs").rglob("*") if p.is_dir())]:
            d.chmod(d.stat().st_mode | 0o700)  # Maven writes target/ (site-packages may be 555)
        try:
            (tmp / "jobs").rename(dest)
        except OSError:  # another process copied it first
            if not (dest / "build.sh").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


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
