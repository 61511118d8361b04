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


def test_a_refused_submission_is_reported_by_flink_s_root_cause() -> None:
    """Flink's REST answer to a failing main method nests the cause under handler traces; the
    run's error is the innermost cause (a real run: tests/test_original_specs.py)."""
    import json

    from flink_jepsen.workloads.flink_client import root_cause

    trace = ("org.apache.flink.runtime.rest.handler.RestHandlerException: Could not execute "
             "application.\n\tat org.apache.flink.runtime.webmonitor.handlers.JarRunHandler"
             ".lambda$handleRequest$1(JarRunHandler.java:114)\nCaused by: java.util.concurrent."
             "CompletionException: org.apache.flink.util.FlinkRuntimeException: Could not "
             "execute application.\n\tat java.base/java.util.concurrent.CompletableFuture."
             "encodeThrowable(CompletableFuture.java:315)\nCaused by: org.apache.flink.client."
             "program.ProgramInvocationException: The main method caused an error: unknown "
             "argument --bogus\n\tat org.apache.flink.client.program.PackagedProgram."
             "callMainMethod(PackagedProgram.java:373)\nCaused by: java.lang."
             "IllegalArgumentException: unknown argument --bogus\n\tat org.flinkjepsen.jobs."
             "common.Args.parse(Args.java:40)\n")
    body = json.dumps({"errors": ["Internal server error.", f"<Exception on server side:\n"
                                  f"{trace}\nEnd of exception on server side>"]})
    assert root_cause(body) == "unknown argument --bogus (IllegalArgumentException)"
    assert root_cause(json.dumps({"errors": ["Not found: /jars/x/run"]})) is None
    assert root_cause("java.io.IOException: disk full") == "disk full (IOException)"
