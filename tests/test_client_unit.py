"""The leader's address as Flink writes it into ZooKeeper (a Java object stream)."""

from __future__ import annotations

import struct

from flink_jepsen.workloads.flink_client import parse_connection_info


def java_stream(address: str) -> bytes:
    utf = address.encode()
    block = struct.pack(">H", len(utf)) + utf
    # header, TC_BLOCKDATA + length, the writeUTF block, then a serialized UUID object
    return b"\xac\xed\x00\x05" + bytes([0x77, len(block)]) + block + b"sr\x00\x0ejava.util.UUID"


def test_parses_the_address_flink_writes() -> None:
    assert parse_connection_info(java_stream("http://n1:8081")) == "http://n1:8081"
    # bytes read from a real Flink 2.3.0 leader node
    real = b"\xac\xed\x00\x05w\x10\x00\x0ehttp://n1:8081sr\x00\x0ejava.util.UUID\xbc\x99"
    assert parse_connection_info(real) == "http://n1:8081"


def test_rejects_what_is_not_a_java_stream() -> None:
    assert parse_connection_info(b"") is None
    assert parse_connection_info(b"http://n1:8081") is None
    assert parse_connection_info(b"\xac\xed\x00\x05\x70\x00") is None
