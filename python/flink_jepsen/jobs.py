"""The project's own Flink test jobs (jobs/ in the repository), built with Maven for the Flink
version under test and cached by version and source checksum."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
from pathlib import Path

from flink_jepsen import paths
from flink_jepsen.errors import SetupError

log = logging.getLogger("flink_jepsen.jobs")


def jobs_dir() -> Path:
    """jobs/ of the source tree (FLINK_JEPSEN_JOBS overrides: an installed package has none)."""
    env = os.environ.get("FLINK_JEPSEN_JOBS")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "jobs")
    for c in candidates:
        if (c / "build.sh").exists():
            return c
    raise SetupError("cannot find the project's jobs/ directory (with build.sh): set "
                     "FLINK_JEPSEN_JOBS to it, or give the job's jar in the test spec")


def _source_digest(module_dir: Path, parent_pom: Path) -> str:
    h = hashlib.sha256(parent_pom.read_bytes())
    build_script = parent_pom.parent / "build.sh"  # it picks the Kafka connector's version
    if build_script.exists():
        h.update(build_script.read_bytes())
    for f in sorted(p for p in module_dir.rglob("*") if p.is_file() and "target" not in p.parts):
        h.update(str(f.relative_to(module_dir)).encode())
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
    log.info("building job %s for Flink %s with Maven", module, flink_version)
    proc = subprocess.run(["bash", str(root / "build.sh"), flink_version, module],
                          capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise SetupError(f"building job {module} for Flink {flink_version} failed: "
                         f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    built = Path(proc.stdout.strip().splitlines()[-1])
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(built, cached)
    return cached
