"""`flink-jepsen serve`: the store's web UI, over HTTP (urllib, http.client) and in a real
headless Chromium (selenium), against a small store the tests build: runs with every verdict,
a broken results.json, a run with only a log, a hostile test name, ``latest`` links and a symlink
pointing out of the store."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import struct
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from flink_jepsen.errors import UsageError
from flink_jepsen.web import serve

EVIL = "<script>alert('x')<"   # a directory name may hold anything but '/'
SECRET = "top-secret-outside-the-store"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LOG_LINE = "2026-01-01 00:00:{:02d}.000 info  [flink_jepsen.run.runner] phase {}\n"


def _run(store: Path, test: str, stamp: str, valid: object = None, *, results: str | None = None,
         nodes: bool = True, ops: int = 5, nemesis: str = "kill-task-managers") -> Path:
    """One run directory as the runner writes it (results=None and valid=None: no results.json;
    results given: that text, verbatim)."""
    d = store / test / stamp
    d.mkdir(parents=True)
    (d / "jepsen.log").write_text(LOG_LINE.format(0, "validate") + LOG_LINE.format(42, "analysis"))
    (d / "test.json").write_text(json.dumps({
        "options": {"nemesis_gen": nemesis, "deployment_mode": "standalone-session",
                    "workload": "availability", "time_limit": 30.0},
        "seed": 7, "run_id": "abc", "versions": {"flink": {"version": "2.3.0"}}}))
    if results is not None:
        (d / "results.json").write_text(results)
    elif valid is not None:
        (d / "results.json").write_text(json.dumps({
            "valid?": valid, "test": test, "nemesis-gen": nemesis,
            "deployment-mode": "standalone-session", "jobs": {}}))
    with open(d / "history.jsonl", "w") as f:
        for i in range(ops):
            f.write(json.dumps({"index": i, "time": i * 1_000_000, "process": 0,
                                "type": "invoke" if i % 2 == 0 else "ok",
                                "f": "job-running?", "value": f"op-{i}"}) + "\n")
    if nodes:
        for node, rel, text in (("n1", "log/flink/jobmanager.out", "JobManager started\n"),
                                ("n2", "log/zookeeper/server.out", "ZooKeeper <b>up</b>\n"),
                                ("n3", "log/flink/flink--taskexecutor-0-n3.log.1", "rotated\n")):
            p = d / "nodes" / node / rel
            p.parent.mkdir(parents=True)
            p.write_text(text)
    old = 1_600_000_000  # long ago: a run without results is cut short, not running
    os.utime(d / "jepsen.log", (old, old))
    return d


def _link(link: Path, target: Path) -> None:
    link.symlink_to(os.path.relpath(target, link.parent))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve")
    (root / "outside.txt").write_text(SECRET)
    s = root / "store"
    alpha = _run(s, "alpha-test", "20260101T000000.000", True, ops=250)
    (alpha / "report.html").write_text("<html><body><h1>the report</h1></body></html>")
    (alpha / "availability.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    (alpha / "nodes" / "n1" / "log" / "escape").symlink_to(root / "outside.txt")
    _run(s, "beta-test", "20260102T000000.000", False, nemesis="partition-random-halves")
    broken = _run(s, "beta-test", "20260103T000000.000", results='{"valid?": tr')
    _run(s, "beta-test-cut-short", "20260104T000000.000", nodes=False, ops=0)
    _run(s, EVIL, "20260105T000000.000", True)
    _link(s / "alpha-test" / "latest", alpha)
    _link(s / "beta-test" / "latest", broken)
    _link(s / "latest", s / EVIL / "20260105T000000.000")
    return s


@pytest.fixture(scope="module")
def base_url(store: Path) -> Iterator[str]:
    server = serve.make_server(store, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def get(base: str, path: str) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) for a GET, following redirects, errors included."""
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def raw_get(base: str, path: str) -> tuple[int, str]:
    """A GET of exactly this path: no client-side normalisation of '..' or '//'."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def run_links(body: str) -> list[str]:
    return re.findall(r'class="run-link" href="([^"]+)"', body)


def verdicts(body: str) -> list[str]:
    return re.findall(r'<tr class="run v-\w+" data-verdict="(\w+)"', body)


def test_index_lists_every_run_newest_first(base_url: str) -> None:
    status, headers, body = get(base_url, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    stamps = [link.rstrip("/").rsplit("/", 1)[1] for link in run_links(body)]
    assert stamps == ["20260105T000000.000", "20260104T000000.000", "20260103T000000.000",
                      "20260102T000000.000", "20260101T000000.000"]
    # the broken results.json and the run with only a log are listed, as unknown
    assert verdicts(body) == ["valid", "unknown", "unknown", "invalid", "valid"]
    assert "5 runs: 2 valid, 1 invalid, 2 unknown" in body
    assert "42s" in body  # the duration, from jepsen.log's first and last lines
    assert "partition-random-halves" in body


@pytest.mark.parametrize(("verdict", "stamps"), [
    ("valid", ["20260105T000000.000", "20260101T000000.000"]),
    ("invalid", ["20260102T000000.000"]),
    ("unknown", ["20260104T000000.000", "20260103T000000.000"]),
    ("nonsense", ["20260105T000000.000", "20260104T000000.000", "20260103T000000.000",
                  "20260102T000000.000", "20260101T000000.000"]),
])
def test_verdict_filter(base_url: str, verdict: str, stamps: list[str]) -> None:
    _, _, body = get(base_url, f"/?verdict={verdict}")
    assert [link.rstrip("/").rsplit("/", 1)[1] for link in run_links(body)] == stamps


def test_test_name_filter(base_url: str) -> None:
    _, _, body = get(base_url, "/?test=BETA")  # a part of a name: every test that has it
    assert run_links(body) == ["/runs/beta-test-cut-short/20260104T000000.000/",
                               "/runs/beta-test/20260103T000000.000/",
                               "/runs/beta-test/20260102T000000.000/"]
    _, _, body = get(base_url, "/?test=beta-test")  # a whole name: that test only
    assert run_links(body) == ["/runs/beta-test/20260103T000000.000/",
                               "/runs/beta-test/20260102T000000.000/"]
    _, _, body = get(base_url, "/?test=beta-test&verdict=invalid")
    assert run_links(body) == ["/runs/beta-test/20260102T000000.000/"]
    _, _, body = get(base_url, "/?test=no-such-test")
    assert run_links(body) == [] and "no runs match" in body
    # a test's own directory shows its runs in the index
    status, _, body = get(base_url, "/runs/beta-test-cut-short/")
    assert status == 200 and run_links(body) == ["/runs/beta-test-cut-short/20260104T000000.000/"]


def test_run_page_shows_verdict_parameters_report_history_and_node_logs(base_url: str) -> None:
    status, _, body = get(base_url, "/runs/alpha-test/20260101T000000.000/")
    assert status == 200
    assert '<span class="verdict v-valid">valid</span>' in body
    assert "kill-task-managers" in body and "time_limit" in body and "2.3.0" in body
    assert 'src="/runs/alpha-test/20260101T000000.000/report.html"' in body
    assert "sandbox=" in body
    for rel in ("nodes/n1/log/flink/jobmanager.out", "nodes/n2/log/zookeeper/server.out",
                "nodes/n3/log/flink/flink--taskexecutor-0-n3.log.1", "jepsen.log",
                "results.json", "history.jsonl", "test.json"):
        assert f'href="/runs/alpha-test/20260101T000000.000/{rel}"' in body, rel
    assert "nodes/n1/log/escape" not in body  # symlinks in node logs are not listed
    assert "op-0" in body and "op-99" in body and "op-100" not in body
    assert "?history=100#history" in body


def test_history_paging(base_url: str) -> None:
    _, _, body = get(base_url, "/runs/alpha-test/20260101T000000.000/?history=200")
    assert "op-200" in body and "op-249" in body and "op-199" not in body
    assert "history-next" not in body and "?history=100#history" in body
    _, _, body = get(base_url, "/runs/alpha-test/20260101T000000.000/?history=abc")
    assert "op-0" in body


def test_broken_and_partial_runs_have_pages(base_url: str) -> None:
    status, _, body = get(base_url, "/runs/beta-test/20260103T000000.000/")
    assert status == 200 and "v-unknown" in body and "results.json unreadable" in body
    status, _, body = get(base_url, "/runs/beta-test-cut-short/20260104T000000.000/")
    assert status == 200 and "no node logs were collected" in body
    assert "no results.json" in body


@pytest.mark.parametrize(("path", "ctype", "content"), [
    ("nodes/n1/log/flink/jobmanager.out", "text/plain", "JobManager started\n"),
    ("nodes/n2/log/zookeeper/server.out", "text/plain", "ZooKeeper <b>up</b>\n"),
    ("nodes/n3/log/flink/flink--taskexecutor-0-n3.log.1", "text/plain", "rotated\n"),
    ("jepsen.log", "text/plain", None),
    ("history.jsonl", "text/plain", None),
    ("results.json", "application/json", None),
    ("report.html", "text/html", "<h1>the report</h1>"),
])
def test_raw_files_are_served_with_their_content_type(base_url: str, store: Path, path: str,
                                                      ctype: str, content: str | None) -> None:
    status, headers, body = get(base_url, f"/runs/alpha-test/20260101T000000.000/{path}")
    assert status == 200
    assert headers["Content-Type"].startswith(ctype)
    assert headers["X-Content-Type-Options"] == "nosniff"
    expected = (store / "alpha-test" / "20260101T000000.000" / path).read_text()
    assert body == expected
    if content:
        assert content in body
    if ctype == "text/html":  # stored HTML runs sandboxed, never in the UI's own origin
        assert headers["Content-Security-Policy"].startswith("sandbox")


def test_png_and_head(base_url: str) -> None:
    url = base_url + "/runs/alpha-test/20260101T000000.000/availability.png"
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "image/png"
        assert r.headers["Content-Length"] == "40" and r.read() == b""


def test_latest_links_inside_the_store_work(base_url: str) -> None:
    status, _, body = get(base_url, "/runs/latest/")  # redirected to the run's own address
    assert status == 200 and "20260105T000000.000" in body and "v-valid" in body
    status, _, body = get(base_url, "/runs/alpha-test/latest/nodes/n1/log/flink/jobmanager.out")
    assert status == 200 and body == "JobManager started\n"
    status, _, body = get(base_url, "/runs/beta-test/latest")
    assert status == 200 and "results.json unreadable" in body


@pytest.mark.parametrize("path", [
    "/runs/../../etc/passwd",
    "/runs/../outside.txt",
    "/runs/%2e%2e/%2e%2e/etc/passwd",
    "/runs/%2E%2E/outside.txt",
    "/runs/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/runs/alpha-test/../../../etc/passwd",
    "/runs//etc/passwd",
    "/runs/%2Fetc%2Fpasswd",
    "/runs/alpha-test/20260101T000000.000/nodes/n1/log/escape",  # a symlink leading out
    "/runs/..%5c..%5cetc%5cpasswd",
    "/etc/passwd",
    "/../../etc/passwd",
])
def test_paths_outside_the_store_are_refused(base_url: str, path: str) -> None:
    status, body = raw_get(base_url, path)
    assert status in (403, 404), (path, status)
    assert "root:" not in body and SECRET not in body


def test_everything_rendered_is_escaped(base_url: str) -> None:
    _, _, body = get(base_url, "/")
    assert EVIL not in body and "<script" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;" in body
    link = [h for h in run_links(body) if "20260105" in h][0]
    status, headers, page = get(base_url, link.replace("&amp;", "&"))
    assert status == 200 and "<script" not in page and "&lt;script&gt;" in page
    assert "script-src" not in headers["Content-Security-Policy"]  # no script may run at all
    _, _, body = get(base_url, "/?test=" + urllib.parse.quote('"><script>x()</script>'))
    assert "<script" not in body
    status, _, body = get(base_url, "/runs/alpha-test/20260101T000000.000/")
    assert "ZooKeeper <b>up</b>" not in body  # (a node log's text is only served raw)


def test_directories_inside_a_run_are_listed(base_url: str) -> None:
    status, _, body = get(base_url, "/runs/alpha-test/20260101T000000.000/nodes/n1/log/flink")
    assert status == 200  # (redirected to the address with a slash)
    assert 'href="/runs/alpha-test/20260101T000000.000/nodes/n1/log/flink/jobmanager.out"' in body


def test_unknown_pages_are_404(base_url: str) -> None:
    assert get(base_url, "/nope")[0] == 404
    assert get(base_url, "/runs/alpha-test/20260101T000000.000/no-such-file")[0] == 404


def test_a_missing_store_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-store-here"
    with pytest.raises(UsageError, match=re.escape(str(missing))):
        serve.make_server(missing, "127.0.0.1", 0)


def test_command_line_options() -> None:
    p = argparse.ArgumentParser()
    serve.add_arguments(p)
    a = p.parse_args([])
    assert (a.store, a.host, a.port) == ("store", "127.0.0.1", 8080)
    a = p.parse_args(["--store", "/tmp/s", "--host", "0.0.0.0", "--port", "0"])
    assert (a.store, a.host, a.port) == ("/tmp/s", "0.0.0.0", 0)
    with pytest.raises(SystemExit):
        p.parse_args(["--port", "70000"])


# ---- a real browser --------------------------------------------------------------------------

RGB = {"valid": "rgba(26, 127, 55, 1)", "invalid": "rgba(207, 34, 46, 1)",
       "unknown": "rgba(217, 119, 6, 1)"}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.skip(f"the browser test needs Debian's chromium and chromium-driver: "
                    f"{', '.join(missing)} not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1024"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_in_a_real_browser(browser, base_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    d = browser
    d.get(base_url + "/")
    rows = d.find_elements(By.CSS_SELECTOR, "table#runs tr.run")
    assert [r.get_attribute("data-verdict") for r in rows] == [
        "valid", "unknown", "unknown", "invalid", "valid"]
    for r in rows:
        v = r.get_attribute("data-verdict")
        b = r.find_element(By.CSS_SELECTOR, "span.verdict")
        assert b.text == v
        assert b.value_of_css_property("background-color") == RGB[v], v
    assert EVIL in rows[0].text  # shown as text, not run as a script
    d.save_screenshot(str(tmp_path / "index.png"))

    # the filter form
    Select(d.find_element(By.CSS_SELECTOR, "select[name=verdict]")).select_by_value("invalid")
    d.find_element(By.CSS_SELECTOR, "form.filters button").click()
    WebDriverWait(d, 10).until(ec.url_contains("verdict=invalid"))
    rows = d.find_elements(By.CSS_SELECTOR, "table#runs tr.run")
    assert [r.get_attribute("data-test") for r in rows] == ["beta-test"]

    # into a run
    d.get(base_url + "/")
    row = d.find_element(By.CSS_SELECTOR, "tr.run[data-test=alpha-test]")
    row.find_element(By.CSS_SELECTOR, "a.run-link").click()
    WebDriverWait(d, 10).until(ec.presence_of_element_located((By.ID, "verdict")))
    assert d.current_url.endswith("/runs/alpha-test/20260101T000000.000/")
    badge = d.find_element(By.CSS_SELECTOR, "#verdict span.verdict")
    assert badge.text == "valid"
    assert badge.value_of_css_property("background-color") == RGB["valid"]
    logs = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#node-logs ul.node-files a")]
    assert "log/flink/jobmanager.out" in logs and "log/zookeeper/server.out" in logs
    assert [h.text for h in d.find_elements(By.CSS_SELECTOR, "#node-logs h3.node")] == [
        "n1", "n2", "n3"]
    assert d.find_element(By.CSS_SELECTOR, "iframe.report").is_displayed()
    shot = tmp_path / "run.png"
    d.save_screenshot(str(shot))
    width, height = _png_size(shot)
    assert width >= 800 and height >= 600 and shot.stat().st_size > 10_000

    # a log opens as text
    d.find_element(By.LINK_TEXT, "log/flink/jobmanager.out").click()
    WebDriverWait(d, 10).until(ec.url_contains("jobmanager.out"))
    assert "JobManager started" in d.find_element(By.TAG_NAME, "body").text


def test_a_request_for_another_host_is_refused(base_url: str) -> None:
    """DNS rebinding: a page on evil.example that resolves to 127.0.0.1 sends its own Host."""
    host, port = base_url.removeprefix("http://").split(":")
    for sent, expected in (("evil.example", 421), (f"evil.example:{port}", 421),
                           (f"localhost:{port}", 200), (f"127.0.0.1:{port}", 200)):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.putrequest("GET", "/", skip_host=True)
            conn.putheader("Host", sent)
            conn.endheaders()
            r = conn.getresponse()
            assert r.status == expected, (sent, r.status)
            r.read()
        finally:
            conn.close()


def test_a_fifo_in_the_store_and_silent_clients_do_not_hang_the_server(tmp_path,
                                                                        monkeypatch) -> None:
    import os
    import socket

    s = tmp_path / "store"
    run = _run(s, "fifo-test", "20260101T000000.000", True)
    (run / "results.json").unlink()
    os.mkfifo(run / "results.json")                 # nobody will ever write to it
    os.mkfifo(run / "notes.txt")
    monkeypatch.setattr(serve.StoreHandler, "timeout", 1)
    monkeypatch.setattr(serve, "MAX_THREADS", 4)
    server = serve.make_server(s, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    silent = [socket.create_connection(("127.0.0.1", server.server_address[1]))
              for _ in range(8)]                    # more than the server's threads
    try:
        status, _, body = get(base, "/")
        assert status == 200 and "fifo-test" in body
        status, _, _ = get(base, "/runs/fifo-test/20260101T000000.000/notes.txt")
        assert status in (403, 404)                 # refused, not a hang
    finally:
        for c in silent:
            c.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
