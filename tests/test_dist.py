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
        dist.resolve(tarball="http://127.0.0.1:9/flink.tgz")


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
