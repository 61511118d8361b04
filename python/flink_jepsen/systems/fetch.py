"""Downloads into the cache, checksummed: every artifact the harness fetches goes through here,
so a corrupt or changed download is caught and named, and a second run reuses the first's files."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from flink_jepsen.errors import SetupError, UsageError

log = logging.getLogger("flink_jepsen.systems.fetch")


def sha256(path: Path) -> str:
    return digest(path, "sha256")


def digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def extract_zip(archive: Path, dest: Path, members: tuple[str, ...], strip: str) -> None:
    """Unzips members (prefixes), `strip` cut from their names, keeping the files' Unix modes
    (scripts and the JVM must stay runnable)."""
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            if not info.filename.startswith(members) or info.is_dir():
                continue
            target = dest / info.filename[len(strip):]
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)


def verify(path: Path, expected: str | None, manifest: Path) -> str:
    """Checks path against a pinned checksum, or against the one recorded on its first download
    (kept in manifest, a JSON map of file name -> sha256). Returns the checksum."""
    actual = sha256(path)
    recorded = json.loads(manifest.read_text()) if manifest.exists() else {}
    want = expected or recorded.get(path.name)
    if want and want != actual:
        raise SetupError(f"checksum mismatch for {path}: expected sha256 {want}, got {actual}")
    if recorded.get(path.name) != actual:
        recorded[path.name] = actual
        manifest.write_text(json.dumps(recorded, indent=2, sort_keys=True))
    return actual


def pip_download(requirement: str, dest: Path, filename: str | None = None) -> Path:
    """Fetches one file of a PyPI package (no dependencies) with pip; returns its path. With
    filename, exactly that file: pip is told the wheel's tags (or to take the sdist), so the
    file the checksum was pinned for is the one fetched, whatever Python runs the harness."""
    dest.mkdir(parents=True, exist_ok=True)
    name = requirement.split("==")[0].replace("-", "_").lower()

    def found() -> list[Path]:
        if filename:
            return [p for p in dest.iterdir() if p.name == filename]
        return [p for p in dest.iterdir()
                if p.name.lower().replace("-", "_").startswith(name + "-")
                or p.name.lower().startswith(name + "-")]

    if existing := found():
        return existing[0]
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest)]
    argv += pip_tag_args(filename) if filename else []
    argv.append(requirement)
    log.info("downloading %s from PyPI", filename or requirement)
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SetupError(f"pip could not download {requirement}: {proc.stderr.strip()[-1500:]}")
    got = found()
    if not got:
        raise SetupError(f"pip downloaded no {filename or name + '-*'} for {requirement} into "
                         f"{dest} (found: {sorted(p.name for p in dest.iterdir())})")
    return got[0]


def pip_tag_args(filename: str) -> list[str]:
    """pip options that select exactly this file: an sdist, or a wheel by its Python, ABI and
    platform tags (a wheel's name ends in -python-abi-platform.whl, each tag may be dotted)."""
    if not filename.endswith(".whl"):
        return ["--no-binary=:all:"]
    python, abi, platform = filename[:-len(".whl")].split("-")[-3:]
    argv = ["--only-binary=:all:"]
    if platform != "any":
        argv += [a for p in platform.split(".") for a in ("--platform", p)]
    if python.startswith("cp"):
        argv += ["--implementation", "cp", "--python-version", f"{python[2]}.{python[3:]}",
                 "--abi", abi]
    return argv


def fetch_uri(uri: str, dest_dir: Path, sha512: str | None = None) -> Path:
    """file://, http(s):// or a plain path -> a file in dest_dir (downloaded once). Over plain
    http the file must match `sha512`, or the .sha512 file beside it: anyone on the path could
    otherwise hand the nodes a binary of their choice."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme in ("", "file"):
        src = Path(urllib.parse.unquote(parsed.path if parsed.scheme else uri)).expanduser()
        if not src.is_file():
            raise UsageError(f"--tarball {uri}: no such file")
        return src.resolve()
    if parsed.scheme not in ("http", "https"):
        raise UsageError(f"--tarball {uri}: unsupported scheme {parsed.scheme!r} "
                         "(use file://, http://, https:// or a path)")
    want = _expected_sha512(uri, sha512) if (sha512 or parsed.scheme == "http") else None
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = Path(parsed.path).name or "download"
    dest = dest_dir / name
    if not dest.exists():
        tmp = dest.with_suffix(dest.suffix + ".part")
        log.info("downloading %s", uri)
        try:
            with urllib.request.urlopen(uri, timeout=60) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise SetupError(f"--tarball {uri}: cannot download: {e}") from e
        tmp.rename(dest)
    if want is not None:   # the cached copy too: verified before every use
        got = digest(dest, "sha512")
        if got != want:
            dest.unlink(missing_ok=True)
            raise SetupError(f"--tarball {uri}: SHA-512 mismatch: expected {want}, got {got}")
    return dest


def _expected_sha512(uri: str, given: str | None) -> str:
    """--tarball-sha512, or the first word of the .sha512 file published beside the tarball."""
    if given:
        if not re.fullmatch(r"[0-9a-fA-F]{128}", given.strip()):
            raise UsageError("--tarball-sha512 must be 128 hex digits")
        return given.strip().lower()
    try:
        with urllib.request.urlopen(uri + ".sha512", timeout=60) as r:
            words = r.read(4096).decode("ascii", "replace").split()
    except OSError as e:
        raise UsageError(f"--tarball {uri}: plain http needs --tarball-sha512 (no "
                         f"{uri}.sha512 to verify it: {e})") from e
    if not words or not re.fullmatch(r"[0-9a-fA-F]{128}", words[0]):
        raise UsageError(f"--tarball {uri}: {uri}.sha512 holds no SHA-512; give "
                         "--tarball-sha512")
    return words[0].lower()


def maven_jars(base: Path, what: str, dependencies: str, check_jar: str,
               pinned: str | None = None) -> Path:
    """Jars with their runtime dependencies from Maven Central into base/lib, once (`mvn -C`:
    the registry's checksums are enforced; check_jar is then verified against a pinned or
    recorded sha256). `dependencies` is the <dependency> elements of a throwaway pom."""
    lib = base / "lib"
    if (base / "fetched").exists():
        return lib
    if shutil.which("mvn") is None:
        raise SetupError(f"Maven (mvn) is needed to fetch {what}'s jars: apt-get install -y "
                         "maven (`flink-jepsen doctor` checks everything a run needs)")
    base.mkdir(parents=True, exist_ok=True)
    (base / "pom.xml").write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>flinkjepsen</groupId><artifactId>jars</artifactId><version>1</version>"
        f"<packaging>pom</packaging><dependencies>{dependencies}</dependencies></project>")
    shutil.rmtree(lib, ignore_errors=True)
    log.info("fetching %s's jars from Maven Central", what)
    proc = subprocess.run(
        ["mvn", "-B", "-q", "-C", "-f", str(base / "pom.xml"), "dependency:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={lib}"],
        capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SetupError(f"Maven could not fetch {what}: "
                         f"{(proc.stdout + proc.stderr).strip()[-1500:]}")
    verify(lib / check_jar, pinned, base / "sha256.json")
    (base / "fetched").write_text("ok\n")
    return lib


def maven_dependency(group: str, artifact: str, version: str, extra: str = "") -> str:
    return (f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version>{extra}</dependency>")
