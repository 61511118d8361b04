"""The errors the harness raises on purpose, each mapped to Jepsen's exit status by the CLI."""

from __future__ import annotations


class FlinkJepsenError(Exception):
    """Base of the harness's own errors: the message is meant for the user, as is."""

    exit_status = 255


class UsageError(FlinkJepsenError):
    """Bad input (arguments, files, node names): nothing was started. Exit 254."""

    exit_status = 254


class SetupError(FlinkJepsenError):
    """The environment could not be brought up (no root, a clashing subnet, a daemon that never
    became ready). During a test run this makes the verdict unknown (exit 2)."""

    exit_status = 2
