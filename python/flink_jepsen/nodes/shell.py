"""Running commands on the control machine itself (ip, iptables, ssh-keygen...) with errors that
say what was run and what it printed."""

from __future__ import annotations

import shlex
import subprocess

from flink_jepsen.errors import SetupError


def run(argv: list[str], check: bool = True, timeout: float = 60, input: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
    except FileNotFoundError as e:
        raise SetupError(f"{argv[0]} is not installed (needed to run: {shlex.join(argv)})") from e
    except subprocess.TimeoutExpired as e:
        raise SetupError(f"`{shlex.join(argv)}` did not finish within {timeout} s") from e
    if check and proc.returncode != 0:
        raise SetupError(
            f"`{shlex.join(argv)}` exited with status {proc.returncode}: "
            f"{(proc.stderr or proc.stdout).strip()[-2000:]}"
        )
    return proc
