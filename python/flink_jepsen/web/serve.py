"""`flink-jepsen serve`: browse the store in a web browser (the index of runs, a page per run,
every file of a run), with Python's standard library only, so it works wherever the CLI does.

It is meant for the machine the tests ran on: it binds to 127.0.0.1 unless told otherwise, serves
nothing outside the store (``..``, encoded or not, absolute paths and symlinks that resolve out
of it are refused; the store's own ``latest`` links resolve inside it and work), and escapes
everything it renders, since logs and test names may contain anything.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from flink_jepsen.errors import UsageError
from flink_jepsen.store.view import VERDICTS, PathRefused, StoreView, open_regular
from flink_jepsen.web import pages

log = logging.getLogger("flink_jepsen.web.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

TYPES = {
    ".json": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
}
TEXT_PLAIN = "text/plain; charset=utf-8"
# Shown as text in the browser rather than downloaded: logs, histories, scripts, specs.
TEXT_SUFFIXES = {".log", ".out", ".err", ".jsonl", ".txt", ".info", ".sh", ".edn", ".yaml",
                 ".yml", ".csv", ".md", ".properties", ".conf", ".xml", ".ipynb"}
# Our own pages run no script at all: even a missed escape could not execute.
PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-src 'self'; "
            "form-action 'self'; base-uri 'none'")
# Stored HTML and SVG (report.html, plots) may script themselves, but in an opaque origin.
STORED_ACTIVE_CSP = "sandbox allow-scripts allow-popups"


def content_type(path: Path) -> str:
    """The type a stored file is served with: by name, else text if it looks like text
    (rotated logs are named ``x.log.1``; YARN writes ``directory.info``), else bytes."""
    suffix = path.suffix.lower()
    if suffix in TYPES:
        return TYPES[suffix]
    if suffix in TEXT_SUFFIXES or any(s.lower() in (".log", ".out") for s in path.suffixes):
        return TEXT_PLAIN
    try:
        with open_regular(path) as f:
            head = f.read(4096)
    except OSError:
        return "application/octet-stream"
    if b"\x00" in head:
        return "application/octet-stream"
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            head[:len(head) - cut].decode("utf-8")
            return TEXT_PLAIN
        except UnicodeDecodeError:
            continue
    return "application/octet-stream"


MAX_THREADS = 32      # connections served at once; more wait in the listen queue
SOCKET_TIMEOUT = 30   # seconds a connection may stay silent (a stalled client frees its thread)


class StoreServer(ThreadingHTTPServer):
    """The HTTP server, holding the store's view the handlers read from. At most MAX_THREADS
    connections are served at once, and only requests naming this server in their Host header
    (a web page elsewhere cannot reach it through DNS rebinding)."""

    daemon_threads = True
    request_queue_size = 64  # a browser opens several connections at once

    def __init__(self, address: tuple[str, int], view: StoreView) -> None:
        self.view = view
        self.slots = threading.BoundedSemaphore(MAX_THREADS)
        super().__init__(address, StoreHandler)

    def process_request(self, request, client_address) -> None:
        self.slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def allowed_hosts(self) -> set[str]:
        """The Host header values this server answers: its address and port, and the
        loopback names when it listens on loopback."""
        host, port = str(self.server_address[0]), self.server_address[1]
        names = {host, f"[{host}]"}
        if host in ("127.0.0.1", "::1"):
            names |= {"localhost", "127.0.0.1", "[::1]"}
        return names | {f"{n}:{port}" for n in names}


class StoreServer6(StoreServer):
    address_family = socket.AF_INET6


class StoreHandler(BaseHTTPRequestHandler):
    """GET and HEAD for ``/`` (the index) and ``/runs/...`` (run pages, directories, files)."""

    server: StoreServer
    server_version = "flink-jepsen"

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._handle(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(head=True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    timeout = SOCKET_TIMEOUT

    def _handle(self, head: bool) -> None:
        self.head = head
        host = (self.headers.get("Host") or "").strip().lower()
        wildcard = str(self.server.server_address[0]) in ("0.0.0.0", "::")
        if not wildcard and host not in self.server.allowed_hosts():
            return self._error(HTTPStatus.MISDIRECTED_REQUEST,
                               f"this server does not answer for host {host or '(none)'}")
        try:
            split = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            if split.path in ("/", "/index.html"):
                self._index(query)
            elif split.path == "/runs" or split.path.startswith("/runs/"):
                self._runs(split.path[len("/runs/"):], query)
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no page {split.path}")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away
        except Exception:
            log.exception("serving %s failed", self.path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "the server failed; see its log")

    def _index(self, query: dict[str, str]) -> None:
        runs = self.server.view.runs()
        tests = sorted({r.test for r in runs})
        test = query.get("test", "").strip()
        verdict = query.get("verdict", "").strip()
        if verdict not in VERDICTS:
            verdict = ""
        if test in tests:  # a test's own name (its link): that test, not others it prefixes
            runs = [r for r in runs if r.test == test]
        elif test:
            runs = [r for r in runs if test.lower() in r.test.lower()]
        if verdict:
            runs = [r for r in runs if r.verdict == verdict]
        self._html(pages.index_page(runs, tests, test, verdict))

    def _runs(self, rest: str, query: dict[str, str]) -> None:
        view = self.server.view
        trailing = rest.endswith("/")
        parts = [unquote(p) for p in rest.rstrip("/").split("/")] if rest.strip("/") else []
        if not parts:
            return self._redirect("/")
        try:
            target = view.resolve(parts)
        except PathRefused as e:
            log.info("refused %s: %s", self.path, e)
            return self._error(HTTPStatus.FORBIDDEN, "that path is outside the store")
        if not target.exists():
            return self._error(HTTPStatus.NOT_FOUND, f"no {'/'.join(parts)} in the store")
        canonical = list(target.relative_to(view.root).parts)
        if target.is_dir():
            if target.parent == view.root:  # a test's directory: its runs in the index
                return self._redirect("/?" + urlencode({"test": target.name}))
            if canonical != parts or not trailing:  # `latest`, or a missing slash
                return self._redirect(pages.url(*canonical) + "/" + self._query_suffix())
            if view.is_run_dir(target):
                summary = view.summary(target)
                try:
                    start = int(query.get("history", "0"))
                except ValueError:
                    start = 0
                return self._html(pages.run_page(summary, start))
            return self._html(pages.dir_page(canonical, target))
        if not target.is_file():
            return self._error(HTTPStatus.NOT_FOUND, "not a regular file")
        self._file(target)

    def _query_suffix(self) -> str:
        q = urlsplit(self.path).query
        return "?" + q if q else ""

    def _file(self, path: Path) -> None:
        ctype = content_type(path)
        try:
            f = open_regular(path)
        except OSError as e:
            return self._error(HTTPStatus.FORBIDDEN, f"cannot read {path.name}: {e.strerror}")
        with f:
            size = os.fstat(f.fileno()).st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            if ctype.startswith(("text/html", "image/svg")):
                self.send_header("Content-Security-Policy", STORED_ACTIVE_CSP)
            self.end_headers()
            if not self.head:
                shutil.copyfileobj(f, self.wfile, 1 << 16)

    def _html(self, body: str, status: int = HTTPStatus.OK) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", PAGE_CSP)
        self.end_headers()
        if not self.head:
            self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _error(self, status: int, message: str) -> None:
        self._html(pages.error_page(int(status), message), status)


def make_server(store: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> StoreServer:
    """A server bound to host:port (port 0: any free port, see ``server_address``), not yet
    serving. A store that does not exist is a UsageError naming it."""
    store = Path(store)
    if not store.is_dir():
        raise UsageError(f"store directory {store} does not exist (run a test first, or name "
                         f"the store with --store DIR)")
    cls = StoreServer6 if ":" in host else StoreServer
    try:
        return cls((host, port), StoreView(store))
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e


def serve(store: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serves until interrupted (Ctrl-C or SIGTERM), which is the normal way to stop it."""
    server = make_server(store, host, port)
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s: anyone who can reach it can read the store", host)
    print(f"serving the store {server.view.root} at http://{shown}:{bound_port}/ "
          f"(Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from e
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 0-65535, not {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `flink-jepsen serve`."""
    parser.add_argument("--store", default="store", help="the store directory (default: store)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"TCP port (default {DEFAULT_PORT}; 0: any free port)")


def run(args: argparse.Namespace) -> int:
    """The CLI's entry: serves until interrupted, then exits 0."""
    serve(Path(args.store), args.host, args.port)
    return 0
