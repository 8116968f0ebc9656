"""Fixtures for running PagerDuty's official Python client against a real `staunch serve`.

Each test gets its own server: a fresh `staunch init` config in a temporary directory (its
webhook contact methods pointed at a receiver run here), a fresh SQLite database, a random
loopback port. python-pagerduty only accepts `https://` base URLs, so Staunch serves HTTPS
itself (`--tls-cert/--tls-key`, a self-signed certificate made with the `openssl` command):
the client is given nothing but Staunch's base URL. Everything is stopped when the test ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def staunch_binary() -> Path:
    configured = os.environ.get("STAUNCH_BIN", "target/debug/staunch")
    path = Path(configured)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05):
    """Polls `predicate` until it returns something truthy; returns that, or None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# --- webhook receiver ---------------------------------------------------------------------


@dataclass
class ReceivedPage:
    path: str
    headers: dict[str, str]
    raw_body: bytes
    body: dict


class WebhookReceiver:
    """Records the webhook pages Staunch sends (http.server in a thread)."""

    def __init__(self):
        self.pages: list[ReceivedPage] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"unparsable": raw.decode("utf-8", "replace")}
                page = ReceivedPage(self.path, {k.lower(): v for k, v in self.headers.items()}, raw, body)
                with receiver._lock:
                    receiver.pages.append(page)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def snapshot(self) -> list[ReceivedPage]:
        with self._lock:
            return list(self.pages)

    def wait_for(self, predicate, timeout: float = 15.0) -> ReceivedPage | None:
        def find():
            return next((page for page in self.snapshot() if predicate(page)), None)

        return wait_until(find, timeout)

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def signature_is_valid(secret: str, page: ReceivedPage) -> bool:
    """Checks `X-Staunch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    header = page.headers.get("x-staunch-signature", "")
    parts = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in parts or "v1" not in parts:
        return False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + page.raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


# --- TLS in front of Staunch ----------------------------------------------------------------


@dataclass
class Certificate:
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_file))


def make_certificate(directory: Path) -> Certificate:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the `openssl` command is needed to make the test certificate (python-pagerduty only speaks https)")
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-keyout", str(key_file), "-out", str(cert_file),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert_file, key_file)


@dataclass
class Staunch:
    directory: Path
    base_url: str  # https://127.0.0.1:PORT, Staunch itself: what python-pagerduty is given
    events_key: str
    alertmanager_key: str
    webhook_secret: str
    token: str
    certificate: Certificate
    receiver: WebhookReceiver
    process: subprocess.Popen
    log_file: Path
    config_file: Path

    def api(self, path: str, **query) -> dict:
        """GET `/api/v1<path>` with the admin token; returns the decoded JSON body."""
        url = f"{self.base_url}/api/v1{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.certificate.client_context()) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"GET {url} answered {error.code}: {error.read()!r}") from error

    def incidents(self, state: str) -> list[dict]:
        return self.api("/incidents", state=state, limit=1000)["incidents"]

    def alerts(self) -> list[dict]:
        return self.api("/alerts", limit=1000)["alerts"]

    def alert(self, dedup_key: str) -> dict | None:
        return next((alert for alert in self.alerts() if alert["dedup_key"] == dedup_key), None)

    def changes(self) -> list[dict]:
        return self.api("/changes", limit=1000)["changes"]

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


def _read_config_secrets(text: str) -> tuple[str, str, str]:
    events = re.search(r'type:\s*events_v2\s*\n\s*key:\s*"([^"]+)"', text)
    alertmanager = re.search(r'type:\s*alertmanager\s*\n\s*key:\s*"([^"]+)"', text)
    secret = re.search(r'secret:\s*"([^"]+)"', text)
    if not (events and alertmanager and secret):
        pytest.fail("cannot find the integration keys and webhook secret in the `staunch init` config:\n" + text)
    return events.group(1), alertmanager.group(1), secret.group(1)


def _stop(process: subprocess.Popen):
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def staunch_bin() -> Path:
    path = staunch_binary()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"no staunch binary at {path}: build it (cargo build -p staunch) or set STAUNCH_BIN",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def _start_serve(staunch_bin: Path, config_file: Path, directory: Path, log_file: Path, certificate: Certificate):
    """Starts `staunch serve` on a free port; returns (process, port) once it listens and
    `/healthz` answers. A port taken between choosing and binding is retried."""
    env = dict(os.environ, STAUNCH_LOG="info")
    env.pop("STAUNCH_DB", None)
    env.pop("STAUNCH_LISTEN", None)
    for attempt in range(3):
        port = free_port()
        with open(log_file, "ab") as log:
            process = subprocess.Popen(
                [
                    str(staunch_bin), "serve",
                    "--config", str(config_file),
                    "--db", str(directory / "staunch.db"),
                    "--listen", f"127.0.0.1:{port}",
                    "--durability", "normal",
                    "--tls-cert", str(certificate.cert_file),
                    "--tls-key", str(certificate.key_file),
                ],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=directory, env=env,
            )
        listening_line = f"staunch listening on https://127.0.0.1:{port} "

        def ready():
            if process.poll() is not None:
                return "exited"
            # Our own process's line, so a stranger on the same port cannot pass for it.
            if listening_line not in log_file.read_text(errors="replace"):
                return False
            try:
                health = f"https://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(health, timeout=1, context=certificate.client_context()) as response:
                    return "ready" if response.status == 200 else False
            except (urllib.error.URLError, OSError):
                return False

        outcome = wait_until(ready, STARTUP_TIMEOUT)
        if outcome == "ready":
            return process, port
        _stop(process)
        log_text = log_file.read_text(errors="replace")
        if outcome == "exited" and "in use" in log_text.lower() and attempt < 2:
            continue
        pytest.fail(f"staunch serve did not become ready on port {port} ({outcome or 'timeout'}):\n{log_text}")
    raise AssertionError("unreachable")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def staunch(request, staunch_bin, certificate, tmp_path) -> Staunch:
    """A running `staunch serve` with the `staunch init` example config, serving HTTPS."""
    config_file = tmp_path / "staunch.yaml"
    subprocess.run(
        [str(staunch_bin), "init", "--config", str(config_file)],
        check=True, capture_output=True, timeout=30,
    )
    text = config_file.read_text()
    events_key, alertmanager_key, webhook_secret = _read_config_secrets(text)

    receiver = WebhookReceiver()
    process = None
    log_file = tmp_path / "staunch.log"
    try:
        # The example's users alice and bob page webhooks at http://127.0.0.1:9000/<user>.
        assert "http://127.0.0.1:9000/" in text
        config_file.write_text(text.replace("http://127.0.0.1:9000/", receiver.url + "/"))

        process, port = _start_serve(staunch_bin, config_file, tmp_path, log_file, certificate)
        token_file = tmp_path / "staunch.token"
        if not wait_until(token_file.exists, 5):
            pytest.fail(f"staunch serve wrote no {token_file}")
        token = token_file.read_text().strip()

        yield Staunch(
            directory=tmp_path,
            base_url=f"https://127.0.0.1:{port}",
            events_key=events_key,
            alertmanager_key=alertmanager_key,
            webhook_secret=webhook_secret,
            token=token,
            certificate=certificate,
            receiver=receiver,
            process=process,
            log_file=log_file,
            config_file=config_file,
        )
    finally:
        try:
            if process is not None:
                _stop(process)
                call = getattr(request.node, "report_call", None)
                if call is not None and call.failed:
                    print(f"--- staunch serve log ({log_file}) ---\n{log_file.read_text(errors='replace')}")
        finally:
            receiver.close()
