"""The Flink distribution under test: an Apache binary tarball (--tarball), or the official
binaries that PyPI's apache-flink / apache-flink-libraries packages carry (--flink-version),
assembled into a Flink home once and cached. Nodes get it by install_on()."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from flink_jepsen import paths, versions
from flink_jepsen.errors import SetupError, UsageError
from flink_jepsen.systems.fetch import extract_zip, fetch_uri, pip_download, sha256, verify
from flink_jepsen.systems.java import java_for

log = logging.getLogger("flink_jepsen.systems.dist")

# Python >= 3.11.4 wants an extraction filter; older ones have no such argument.
_EXTRACT_ARGS = {"filter": "tar"} if hasattr(tarfile, "data_filter") else {}
_DIST_JAR = re.compile(r"^flink-dist(?:_[0-9.]+)?-(\d+\.\d+(?:\.\d+)?(?:-[A-Za-z0-9.]+)?)\.jar$")


@dataclass(frozen=True)
class Distribution:
    home: Path       # an unpacked Flink home on the control machine
    version: str     # as the flink-dist jar names it
    source: str      # "pypi:2.3.0" or the tarball's URI
    checksum: str    # sha256 of what was fetched (the tarball, or the PyPI files)

    @property
    def major_minor(self) -> tuple[int, int]:
        a, b = self.version.split(".")[:2]
        return int(a), int(b)

    def describe(self) -> dict:
        return {"version": self.version, "source": self.source, "sha256": self.checksum,
                "home": str(self.home), "java": java_for(self.major_minor).describe()}


def flink_version_of(home: Path, what: str) -> str:
    """Reads the version from lib/flink-dist-*.jar; refuses a directory that is not Flink."""
    lib = home / "lib"
    jars = [m.group(1) for p in (lib.iterdir() if lib.is_dir() else [])
            if (m := _DIST_JAR.match(p.name))]
    if not jars or not (home / "bin" / "jobmanager.sh").exists():
        raise SetupError(f"{what} is not a Flink distribution: no lib/flink-dist-*.jar and "
                         "bin/jobmanager.sh in it")
    return jars[0]


def _extract_tar(archive: Path, dest: Path, what: str, member_prefix: str | None = None) -> None:
    """Untars, dropping a single top-level directory (and keeping only member_prefix if given)."""
    try:
        with tarfile.open(archive) as t:
            names = t.getnames()
            if member_prefix:
                members = [m for m in t.getmembers() if m.name.startswith(member_prefix)]
                strip = member_prefix
            else:
                tops = {n.split("/")[0] for n in names if n}
                strip = tops.pop() + "/" if len(tops) == 1 else ""
                members = t.getmembers()
            for m in members:
                if not m.name.startswith(strip) or m.name == strip.rstrip("/"):
                    continue
                m.name = m.name[len(strip):]
                if not m.name or m.name.startswith(("/", "..")) or "/../" in m.name:
                    continue
                t.extract(m, dest, **_EXTRACT_ARGS)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise SetupError(f"{what} is not a readable tar archive ({e})") from e


def _sdist_root(archive: Path) -> str:
    """The sdist's top directory: its file name without .tar.gz, but PyPI normalised the names
    of newer uploads (apache_flink_libraries-1.20.5.tar.gz) while the directory inside may keep
    the dashes, so it is read from the archive."""
    with tarfile.open(archive) as t:
        first = t.next()
    if first is None:
        raise SetupError(f"{archive} is an empty archive")
    return first.name.split("/")[0]


def from_pypi(version: str) -> Distribution:
    base = paths.cache() / "flink" / f"pypi-{version}"
    home = base / "home"
    done = base / "assembled.json"
    if done.exists() and home.is_dir() and _intact(home, json.loads(done.read_text())):
        meta = json.loads(done.read_text())
        return Distribution(home, meta["version"], f"pypi:{version}", meta["checksum"])
    downloads = base / "downloads"
    manifest = base / "sha256.json"
    pinned = versions.FLINK_PYPI.get(version)
    if pinned is None:
        known = versions.flink_versions()
        raise UsageError(f"--flink-version {version}: not a pinned release (known: {known[0]} "
                         f"to {known[-1]}: {', '.join(known)}); use --tarball for others")
    (scripts_file, scripts_sum), (libs_file, libs_sum) = pinned
    scripts = pip_download(f"apache-flink=={version}", downloads, scripts_file)
    libs = pip_download(f"apache-flink-libraries=={version}", downloads, libs_file)
    sums = [verify(scripts, scripts_sum, manifest), verify(libs, libs_sum, manifest)]
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    log.info("assembling Flink %s from %s and %s", version, scripts.name, libs.name)
    extract_zip(scripts, home, ("pyflink/bin/", "pyflink/conf/", "pyflink/log/"), "pyflink/")
    if libs.suffix == ".whl":
        extract_zip(libs, home, ("pyflink/bin/", "pyflink/lib/", "pyflink/opt/",
                                  "pyflink/plugins/", "pyflink/licenses/"), "pyflink/")
    else:  # older releases: an sdist with the jars under deps/
        _extract_tar(libs, home, str(libs), member_prefix=f"{_sdist_root(libs)}/deps/")
    for script in (home / "bin").iterdir():
        if script.suffix in (".sh", "") and script.is_file():
            script.chmod(0o755)
    (home / "log").mkdir(exist_ok=True)
    found = flink_version_of(home, f"Flink {version} assembled from PyPI")
    checksum = hashlib.sha256("".join(sums).encode()).hexdigest()
    done.write_text(json.dumps({"version": found, "checksum": checksum, "files": sums,
                                "tree": tree_digest(home)}))
    return Distribution(home, found, f"pypi:{version}", checksum)


def from_tarball(uri: str, sha512: str | None = None) -> Distribution:
    key = hashlib.sha256(uri.encode()).hexdigest()[:16]
    downloads = paths.cache() / "flink" / "downloads" / key
    archive = fetch_uri(uri, downloads, sha512)
    checksum = sha256(archive)
    base = paths.cache() / "flink" / f"tarball-{checksum[:16]}"
    home = base / "home"
    done = base / "assembled.json"
    if done.exists() and home.is_dir() and _intact(home, json.loads(done.read_text())):
        meta = json.loads(done.read_text())
        return Distribution(home, meta["version"], uri, checksum)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    try:
        _extract_tar(archive, home, f"--tarball {uri}")
        version = flink_version_of(home, f"--tarball {uri}")
    except SetupError:
        shutil.rmtree(base, ignore_errors=True)
        if archive.parent == downloads:  # a corrupt download is fetched again next time
            archive.unlink(missing_ok=True)
        raise
    done.write_text(json.dumps({"version": version, "checksum": checksum,
                                "tree": tree_digest(home)}))
    return Distribution(home, version, uri, checksum)


def tree_digest(home: Path) -> str:
    """sha256 over every file of an assembled distribution (its path and its content's sha256),
    recorded at assembly: a cached distribution is verified against it before each use."""
    h = hashlib.sha256()
    for p in sorted(home.rglob("*")):
        if p.is_file() and not p.is_symlink() and p.parent.name != "log":
            h.update(f"{p.relative_to(home)}\0{sha256(p)}\n".encode())
    return h.hexdigest()


def _intact(home: Path, meta: dict) -> bool:
    """A cached distribution is used only if its files are what was assembled; one changed (or
    assembled before digests were recorded) is assembled again from its checked downloads."""
    if meta.get("tree") == tree_digest(home):
        return True
    log.warning("the cached distribution %s differs from what was assembled; assembling it "
                "again", home)
    return False


def resolve(flink_version: str | None = None, tarball: str | None = None,
            tarball_sha512: str | None = None) -> Distribution:
    if tarball:
        return from_tarball(tarball, tarball_sha512)
    return from_pypi(flink_version or versions.FLINK_DEFAULT)


def pack(dist: Distribution) -> Path:
    """A .tgz of the Flink home (made once), for nodes that do not share this machine's disk."""
    out = dist.home.parent / f"flink-{dist.version}.tgz"
    if not out.exists():
        tmp = out.with_suffix(".part")
        with tarfile.open(tmp, "w:gz", compresslevel=1) as t:
            t.add(dist.home, arcname=f"flink-{dist.version}")
        tmp.rename(out)
    return out
