"""The test's client of the Flink cluster: finds the leading JobManager's REST address through
ZooKeeper (as the original did, from the leader's connection info under the cluster's HA path),
falls back to asking the JobManagers' REST servers, submits jobs through the REST API and cancels
them. The high-rate availability polling itself is the C++ poller's job."""

from __future__ import annotations

import json
import logging
import re
import struct
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from flink_jepsen.errors import SetupError

log = logging.getLogger("flink_jepsen.workloads.flink_client")
logging.getLogger("kazoo").setLevel(logging.WARNING)


def parse_connection_info(data: bytes) -> str | None:
    """The leader's address from a ZooKeeper connection_info node: a Java object stream
    (0xACED0005) whose first block holds writeUTF(address), followed by the leader session id."""
    if len(data) < 9 or data[:4] != b"\xac\xed\x00\x05" or data[4] != 0x77:
        return None
    block = data[6: 6 + data[5]]
    if len(block) < 2:
        return None
    (n,) = struct.unpack(">H", block[:2])
    try:
        return block[2: 2 + n].decode("utf-8")
    except UnicodeDecodeError:
        return None


def root_cause(body: str) -> str | None:
    """The innermost exception of a Flink REST error ("errors": stack traces as text): what a
    user needs ("unknown argument --x"), not the handler's trace around it. None when the body
    carries no exception."""
    try:
        errors = json.loads(body).get("errors")
        text = "\n".join(str(e) for e in errors) if isinstance(errors, list) else body
    except (ValueError, AttributeError):
        text = body
    causes = re.findall(r"^\s*Caused by: (.+)$", text, flags=re.M)
    line = causes[-1] if causes else None
    if line is None:
        first = re.search(r"^([\w.$]+(?:Exception|Error)(?::[^\n]*)?)$", text, flags=re.M)
        line = first.group(1) if first else None
    if line is None:
        return None
    # "java.lang.IllegalArgumentException: msg" -> "msg (IllegalArgumentException)"
    m = re.match(r"([\w.$]+\.)?([\w$]+(?:Exception|Error)): (.+)", line.strip())
    return f"{m.group(3)} ({m.group(2)})" if m else line.strip()


@dataclass
class SubmittedJob:
    job_id: str
    jar: str
    main_class: str | None
    args: list[str]


class FlinkClient:
    def __init__(self, zk_hosts: str, cluster_id: str, rest_endpoints: list[str],
                 name_to_address: dict[str, str], zk_root: str = "/flink") -> None:
        self.zk_hosts = zk_hosts
        self.cluster_id = cluster_id
        self.rest_endpoints = rest_endpoints  # "address:port" of every JobManager
        self.name_to_address = name_to_address
        self.leader_path = f"{zk_root}/{cluster_id}/leader/rest_server/connection_info"
        # Flink before 1.15 (one leader election per component) kept the same bytes here.
        self.legacy_leader_path = f"{zk_root}/{cluster_id}/leader/rest_server_lock"
        self._zk = None

    # leader discovery -----------------------------------------------------------------------
    def _zk_client(self):
        if self._zk is None:
            from kazoo.client import KazooClient

            self._zk = KazooClient(hosts=self.zk_hosts, timeout=10.0,
                                   connection_retry={"max_tries": 1, "delay": 0.2})
            self._zk.start(timeout=10)
        return self._zk

    def leader_from_zookeeper(self) -> str | None:
        """'address:port' of the leading JobManager's REST server, or None."""
        try:
            zk = self._zk_client()
            path = self.leader_path
            if not zk.exists(path) and zk.exists(self.legacy_leader_path):
                path = self.legacy_leader_path
            data, _ = zk.get(path)
        except Exception as e:  # noqa: BLE001 - no leader or ZooKeeper unreachable: None
            log.debug("no leader in ZooKeeper at %s: %s", self.leader_path, e)
            if self._zk is not None and not self._zk.connected:
                self.close()  # kazoo gives up after its retries: the next ask reconnects
            return None
        url = parse_connection_info(data)
        if not url:
            return None
        parsed = urllib.parse.urlparse(url)
        host = self.name_to_address.get(parsed.hostname or "", parsed.hostname)
        return f"{host}:{parsed.port or 8081}"

    def leader_from_rest(self) -> str | None:
        """Fallback: the first JobManager whose REST API answers (standbys forward to the
        leader, so any 200 means the cluster has one)."""
        for ep in self.rest_endpoints:
            try:
                self.get(ep, "/overview", timeout=2)
                return ep
            except (OSError, ValueError):
                continue
        return None

    def leader(self) -> str | None:
        return self.leader_from_zookeeper() or self.leader_from_rest()

    def close(self) -> None:
        if self._zk is not None:
            try:
                self._zk.stop()
                self._zk.close()
            except Exception:  # noqa: BLE001 - closing must not fail a run
                pass
            self._zk = None

    # REST -----------------------------------------------------------------------------------
    @staticmethod
    def get(endpoint: str, path: str, timeout: float = 5) -> dict:
        with urllib.request.urlopen(f"http://{endpoint}{path}", timeout=timeout) as r:
            return json.loads(r.read())

    @staticmethod
    def _send(endpoint: str, method: str, path: str, body: bytes, content_type: str,
              timeout: float) -> dict:
        req = urllib.request.Request(f"http://{endpoint}{path}", data=body, method=method,
                                     headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
                return json.loads(text) if text else {}
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors="replace")
            cause = root_cause(body)
            if cause:
                raise SetupError(f"Flink refused {method} {path} at {endpoint} ({e.code}): "
                                 f"{cause}") from e
            raise SetupError(f"{method} {path} at {endpoint} answered {e.code}: "
                             f"{body[:2000]}") from e

    def upload_jar(self, endpoint: str, jar: Path) -> str:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"jarfile\"; "
                f"filename=\"{jar.name}\"\r\nContent-Type: application/java-archive\r\n\r\n"
                ).encode() + jar.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        answer = self._send(endpoint, "POST", "/jars/upload", body,
                            f"multipart/form-data; boundary={boundary}", timeout=120)
        if answer.get("status") != "success":
            raise SetupError(f"uploading {jar} to {endpoint} failed: {answer}")
        return Path(answer["filename"]).name

    def run_jar(self, endpoint: str, jar_id: str, main_class: str | None, args: list[str],
                parallelism: int | None = None) -> str:
        payload: dict = {"programArgsList": args}
        if main_class:
            payload["entryClass"] = main_class
        if parallelism:
            payload["parallelism"] = parallelism
        answer = self._send(endpoint, "POST", f"/jars/{jar_id}/run",
                            json.dumps(payload).encode(), "application/json", timeout=180)
        if "jobid" not in answer:
            raise SetupError(f"running jar {jar_id} at {endpoint} gave no job id: {answer}")
        return answer["jobid"]

    def submit(self, jar: Path, main_class: str | None, args: list[str],
               parallelism: int | None = None) -> SubmittedJob:
        endpoint = self.leader()
        if endpoint is None:
            raise SetupError("no JobManager answers: cannot submit jobs "
                             f"(tried ZooKeeper {self.zk_hosts} and {self.rest_endpoints})")
        jar_id = self.upload_jar(endpoint, jar)
        job_id = self.run_jar(endpoint, jar_id, main_class, args, parallelism)
        log.info("submitted %s (%s) as job %s via %s", jar.name, main_class or "manifest main",
                 job_id, endpoint)
        return SubmittedJob(job_id, str(jar), main_class, args)

    def cancel(self, job_id: str) -> None:
        endpoint = self.leader()
        if endpoint is None:
            raise SetupError("no JobManager answers: cannot cancel")
        self._send(endpoint, "PATCH", f"/jobs/{job_id}?mode=cancel", b"", "application/json", 30)

    def tasks_running(self, job_id: str) -> bool:
        """The poller's rule: every vertex of the job RUNNING (False while no leader answers)."""
        ep = self.leader()
        if ep is None:
            return False
        try:
            vertices = self.get(ep, f"/jobs/{job_id}", timeout=3).get("vertices") or []
        except (OSError, ValueError):
            return False
        return bool(vertices) and all(v.get("status") == "RUNNING" for v in vertices)

    def job_state(self, job_id: str) -> str | None:
        ep = self.leader()
        if ep is None:
            return None
        try:
            return self.get(ep, f"/jobs/{job_id}", timeout=3).get("state")
        except (OSError, ValueError):
            return None
