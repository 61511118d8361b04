"""A read-only view of the store for the web UI (`flink-jepsen serve`): the runs, newest first,
with what their files say, and the one function that maps a URL's path onto a file of the store.

Runs are read defensively: a run that crashed, was killed or is still going may lack
results.json or have a truncated one; it is still listed, with verdict unknown and the reason,
because those are exactly the runs someone browsing the store wants to look at.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

STAMP = re.compile(r"^\d{8}T\d{6}\.\d{3}$")
LOG_TIME = re.compile(rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ", re.MULTILINE)
VERDICTS = ("valid", "invalid", "unknown")
RUNNING_WINDOW_S = 120.0  # a run without results whose log changed this recently is running


class PathRefused(Exception):
    """A URL path that would leave the store (or is malformed): answered with 403, never read."""


@dataclass
class RunSummary:
    """What the index shows about one run; every field may be missing in a broken run."""

    test: str
    stamp: str
    dir: Path
    verdict: str = "unknown"             # valid | invalid | unknown
    started: datetime | None = None      # from the directory's name (UTC)
    nemesis: str | None = None
    mode: str | None = None
    workload: str | None = None
    duration_s: float | None = None
    error: str | None = None
    has_results: bool = False
    running: bool = False
    has_report: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def rel(self) -> str:
        return f"{self.test}/{self.stamp}"


def verdict_of(valid: object) -> str:
    """results.json's "valid?" (true, false or "unknown") as a word; anything else is unknown."""
    if valid is True:
        return "valid"
    if valid is False:
        return "invalid"
    return "unknown"


MAX_JSON = 64 << 20  # a results.json larger than this is not read by the index


def open_regular(path: Path):
    """Opens a regular file for reading, never blocking: a FIFO or device someone left in the
    store (or a symlink to one) is refused instead of hanging the reader forever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_json(path: Path) -> tuple[dict | None, str | None]:
    """(the object, None) or (None, why not): a missing or broken file is a fact to show."""
    try:
        with open_regular(path) as f:
            raw = f.read(MAX_JSON + 1)
        if len(raw) > MAX_JSON:
            return None, f"{path.name} is larger than {MAX_JSON >> 20} MiB"
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except FileNotFoundError:
        return None, f"no {path.name}"
    except (OSError, ValueError) as e:
        return None, f"{path.name} unreadable: {e}"
    if not isinstance(data, dict):
        return None, f"{path.name} is not a JSON object"
    return data, None


def parse_stamp(stamp: str) -> datetime | None:
    if not STAMP.match(stamp):
        return None
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def log_duration(path: Path) -> float | None:
    """Seconds between the first and the last timestamped line of a jepsen.log. Only the head
    and the tail are read: a long run's log is large, and the index reads every run's."""
    try:
        with open_regular(path) as f:
            head = f.read(256)
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 65536))
            tail = f.read()
    except OSError:
        return None
    first = LOG_TIME.search(head)
    last = LOG_TIME.findall(tail)
    if not first or not last:
        return None
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    try:
        t0 = datetime.strptime(first.group(1).decode(), fmt)
        t1 = datetime.strptime(last[-1].decode(), fmt)
    except ValueError:
        return None
    return max(0.0, (t1 - t0).total_seconds())


def summarize(run_dir: Path, test: str, stamp: str) -> RunSummary:
    """Reads a run's results.json and test.json (either may be missing or broken)."""
    s = RunSummary(test=test, stamp=stamp, dir=run_dir, started=parse_stamp(stamp))
    results, problem = read_json(run_dir / "results.json")
    if results is None:
        s.problems.append(problem or "no results.json")
    else:
        s.has_results = True
        s.verdict = verdict_of(results.get("valid?"))
        s.nemesis = _text(results.get("nemesis-gen"))
        s.mode = _text(results.get("deployment-mode"))
        s.error = _text(results.get("error"))
        for key in ("duration_s", "duration-s"):
            if isinstance(results.get(key), (int, float)):
                s.duration_s = float(results[key])
    test_json, problem = read_json(run_dir / "test.json")
    options = test_json.get("options") if test_json else None
    if isinstance(options, dict):
        s.nemesis = s.nemesis or _text(options.get("nemesis_gen"))
        s.mode = s.mode or _text(options.get("deployment_mode"))
        s.workload = _text(options.get("workload")) or "availability"
    elif problem:
        s.problems.append(problem)
    log_path = run_dir / "jepsen.log"
    if s.duration_s is None:
        s.duration_s = log_duration(log_path)
    if not s.has_results:
        try:
            s.running = time.time() - log_path.stat().st_mtime < RUNNING_WINDOW_S
        except OSError:
            s.running = False
    s.has_report = (run_dir / "report.html").is_file()
    return s


def _text(v: object) -> str | None:
    return None if v is None else str(v)


def _signature(run_dir: Path) -> tuple:
    """Changes whenever a file the summary is made of changes (or appears)."""
    sig = []
    for name in ("results.json", "test.json", "jepsen.log", "report.html"):
        try:
            st = (run_dir / name).stat()
            sig.append((st.st_mtime_ns, st.st_size))
        except OSError:
            sig.append(None)
    return tuple(sig)


class StoreView:
    """The runs of one store directory. Summaries are cached per run and re-read when one of
    their files changes, so the index stays fast over hundreds of runs."""

    def __init__(self, store: Path) -> None:
        self.root = Path(store).resolve()
        self._cache: dict[Path, tuple[tuple, RunSummary]] = {}
        self._lock = threading.Lock()

    def runs(self) -> list[RunSummary]:
        """Every run directory (``<test>/<run>/``, not the ``latest`` links), newest first."""
        found: list[RunSummary] = []
        for test_dir in _subdirs(self.root):
            for run_dir in _subdirs(test_dir):
                found.append(self.summary(run_dir))
        found.sort(key=_newest_first_key, reverse=True)
        return found

    def summary(self, run_dir: Path) -> RunSummary:
        sig = _signature(run_dir)
        with self._lock:
            hit = self._cache.get(run_dir)
        if hit and hit[0] == sig and not hit[1].running:
            return hit[1]
        s = summarize(run_dir, run_dir.parent.name, run_dir.name)
        with self._lock:
            self._cache[run_dir] = (sig, s)
        return s

    def is_run_dir(self, path: Path) -> bool:
        """A real (resolved) directory two levels below the store's root."""
        return path.is_dir() and path.parent.parent == self.root

    def resolve(self, parts: list[str]) -> Path:
        """The file or directory a URL's path segments name, resolved (``latest`` links
        followed); PathRefused unless it is inside the store. Segments are already
        percent-decoded, so an encoded ``..`` is caught here too."""
        for p in parts:
            if p in ("", ".", "..") or "/" in p or "\\" in p or "\x00" in p:
                raise PathRefused(f"bad path segment {p!r}")
        try:
            target = self.root.joinpath(*parts).resolve()
        except (OSError, RuntimeError) as e:  # a symlink loop
            raise PathRefused(str(e)) from e
        if target != self.root and not target.is_relative_to(self.root):
            raise PathRefused("outside the store")
        return target


def _subdirs(d: Path) -> list[Path]:
    """Real subdirectories (no symlinks: ``latest`` would list a run twice), no hidden ones."""
    try:
        entries = list(os.scandir(d))
    except OSError:
        return []
    return [Path(e.path) for e in entries
            if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]


def _newest_first_key(s: RunSummary) -> tuple:
    if s.started is not None:
        return (s.started.timestamp(), s.test)
    try:
        return (s.dir.stat().st_mtime, s.test)
    except OSError:
        return (0.0, s.test)
