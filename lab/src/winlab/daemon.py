"""The background lab: ``python -m winlab.daemon --fleet FILE --state-dir DIR``.

Started by ``winlab up`` (detached, in its own session, output to
``DIR/daemon.log``). It holds ``DIR/daemon.lock`` for its whole life (a second
daemon in the same directory refuses to start), runs a ``Lab``, serves the control
API on 127.0.0.1 (a free port, bearer token) and writes ``DIR/control.json`` (0600)
once everything listens: that file is the ready signal. A start that fails writes
one line to ``DIR/daemon.error`` and exits 1. SIGTERM or SIGINT stops the
listeners, removes ``control.json`` and exits 0.

Control API (JSON bodies and answers; every request needs
``Authorization: Bearer <token>``; errors are ``{"error": "one line"}`` with 4xx)::

    GET  /v1/ping                     {"ok", "pid", "hosts", "now", "network"}
    GET  /v1/ports                    {"ports": {host: [http, https]}}
    GET  /v1/status                   {"rows": [StatusRow...]}
    GET  /v1/faults                   {"faults": {host: [fault...]}}
    GET  /v1/hosts/<name>             {"state": {...}}
    POST /v1/log      {host?, since?} {"entries": [...]}
    POST /v1/advance  {duration}      {"now"}
    POST /v1/fault    {host, name, params?} {"ok": true}
    POST /v1/clear    {host?}         {"cleared": ["host:fault"...]}
    POST /v1/phone    {iid}           {"cid"}
    POST /v1/reimage  {host}          {"state"} (a fresh install on the same hardware)
    POST /v1/reset    {}              {"ok": true}
    GET  /v1/dns                      {"dns": {server, port, zone, tsig_key_name, tsig_algorithm,
                                               tsig_key_secret, running}} (400 without the network)
    GET  /v1/kms                      {"listeners": {host: [address, port]}}
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import fcntl
import hmac
import http.server
import json
import logging
import os
import pathlib
import secrets
import signal
import sys
import threading
import time
import typing as t
from urllib.parse import unquote

from winlab.control import (
    CONTROL_FILE,
    ERROR_FILE,
    LOCK_FILE,
    Lab,
    LabError,
    json_default,
    write_private_json,
)
from winlab.spec import SpecError, load_fleet

log = logging.getLogger("winlab.daemon")

MAX_BODY = 64 * 1024


class ApiError(Exception):
    """An answer other than 200: HTTP status and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _str_arg(body: dict[str, t.Any], key: str, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"'{key}' is required")
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be a string")
    return value


def dispatch(lab: Lab, method: str, path: str, body: dict[str, t.Any]) -> t.Any:
    """Route one control request to the Lab; returns the JSON-ready answer.

    Raises ApiError (404 unknown route, 400 bad argument) or LabError (answered 400).
    """
    parts = [unquote(p) for p in path.split("?", 1)[0].strip("/").split("/")]
    if parts[:1] != ["v1"] or len(parts) < 2:
        raise ApiError(404, f"no such control endpoint: {method} {path}")
    route = (method, parts[1])
    if route == ("GET", "ping") and len(parts) == 2:
        return {"ok": True, "pid": os.getpid(), "hosts": len(lab.spec.hosts), "now": lab.now(),
                "network": lab.network is not None}
    if route == ("GET", "ports"):
        return {"ports": lab.all_ports()}
    if route == ("GET", "status"):
        return {"rows": [dataclasses.asdict(r) for r in lab.status_rows()]}
    if route == ("GET", "dns"):
        return {"dns": lab.dns_info()}
    if route == ("GET", "kms"):
        return {"listeners": lab.kms_listeners()}
    if route == ("GET", "faults"):
        return {"faults": lab.faults()}
    if route == ("GET", "hosts") and len(parts) == 3:
        return {"state": lab.host_state(parts[2])}
    if route == ("POST", "log"):
        since = body.get("since")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
            raise ApiError(400, "'since' must be an integer (a log sequence number)")
        return {"entries": lab.request_log(_str_arg(body, "host", required=False), since)}
    if route == ("POST", "advance"):
        return {"now": lab.advance(t.cast(str, _str_arg(body, "duration")))}
    if route == ("POST", "fault"):
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise ApiError(400, "'params' must be an object")
        lab.fault(t.cast(str, _str_arg(body, "host")), t.cast(str, _str_arg(body, "name")), **params)
        return {"ok": True}
    if route == ("POST", "clear"):
        return {"cleared": lab.clear(_str_arg(body, "host", required=False))}
    if route == ("POST", "phone"):
        return {"cid": lab.phone(t.cast(str, _str_arg(body, "iid")))}
    if route == ("POST", "reimage"):
        return {"state": lab.reimage(t.cast(str, _str_arg(body, "host")))}
    if route == ("POST", "reset"):
        lab.reset()
        return {"ok": True}
    raise ApiError(404, f"no such control endpoint: {method} {path}")


class ControlServer(http.server.ThreadingHTTPServer):
    """The control API on 127.0.0.1 (never any other address), port chosen by the kernel."""

    daemon_threads = True

    def __init__(self, lab: Lab, token: str) -> None:
        self.lab = lab
        self.token = token
        super().__init__(("127.0.0.1", 0), ControlHandler)


class ControlHandler(http.server.BaseHTTPRequestHandler):
    server: ControlServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: t.Any) -> None:
        log.debug("control %s - %s", self.address_string(), format % args)

    def _answer(self, status: int, data: t.Any) -> None:
        raw = json.dumps(data, default=json_default).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self, method: str) -> None:
        try:
            auth = self.headers.get("Authorization", "")
            expected = f"Bearer {self.server.token}"
            if not hmac.compare_digest(auth.encode(), expected.encode()):
                raise ApiError(401, "missing or wrong bearer token (see control.json)")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ApiError(413, f"request body over {MAX_BODY} bytes")
            body: t.Any = {}
            if length:
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError as e:
                    raise ApiError(400, "the request body is not JSON") from e
            if not isinstance(body, dict):
                raise ApiError(400, "the request body must be a JSON object")
            result = dispatch(self.server.lab, method, self.path, body)
        except ApiError as e:
            self._answer(e.status, {"error": str(e)})
        except LabError as e:
            self._answer(400, {"error": str(e)})
        except Exception as e:
            log.exception("control request %s %s failed", method, self.path)
            self._answer(500, {"error": f"internal error: {type(e).__name__}: {e}"})
        else:
            self._answer(200, result)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


def _fail(state_dir: pathlib.Path, message: str) -> int:
    line = " ".join(message.split())
    log.error("%s", line)
    with contextlib.suppress(OSError):
        (state_dir / ERROR_FILE).write_text(line + "\n", encoding="utf-8")
    return 1


def run(fleet: pathlib.Path, state_dir: pathlib.Path) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT; the process exit code."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(state_dir / LOCK_FILE, "a+b") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Another daemon owns this directory; leave its files alone.
            log.error("another lab daemon is already running in %s", state_dir)
            return 1
        # The lock file names its holder, so 'winlab down' can stop a daemon that has
        # not written control.json yet (or never will).
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n".encode())
        lock.flush()
        (state_dir / ERROR_FILE).unlink(missing_ok=True)
        (state_dir / CONTROL_FILE).unlink(missing_ok=True)
        stop = threading.Event()

        def on_signal(signum: int, frame: t.Any) -> None:
            log.info("signal %s: stopping", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        t0 = time.monotonic()
        log.info("starting the lab for %s (pid %d, state in %s)", fleet, os.getpid(), state_dir)
        try:
            spec = load_fleet(fleet)
        except SpecError as e:
            return _fail(state_dir, str(e))
        try:
            lab = Lab(spec, state_dir)
            lab.start()
        except (LabError, OSError) as e:
            return _fail(state_dir, str(e))
        except Exception as e:
            log.exception("the lab failed to start")
            return _fail(state_dir, f"the lab failed to start: {type(e).__name__}: {e}")
        try:
            server = ControlServer(lab, secrets.token_urlsafe(32))
            thread = threading.Thread(target=server.serve_forever, name="winlab-control", daemon=True)
            thread.start()
            write_private_json(state_dir / CONTROL_FILE, {
                "pid": os.getpid(),
                "port": server.server_address[1],
                "token": server.token,
                "fleet": str(fleet),
                "state_dir": str(state_dir),
                "started": dt.datetime.now(dt.timezone.utc),
                "startup_seconds": round(time.monotonic() - t0, 3),
                "ports": lab.all_ports(),
                "dns_port": lab.network.bind.port if lab.network is not None else None,
            })
            log.info("lab ready: %d hosts, control on 127.0.0.1:%d, %.2fs",
                     len(spec.hosts), server.server_address[1], time.monotonic() - t0)
            while not stop.wait(0.5):
                pass
            server.shutdown()
            server.server_close()
        finally:
            (state_dir / CONTROL_FILE).unlink(missing_ok=True)
            lab.stop()
        log.info("lab stopped")
        return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m winlab.daemon``."""
    parser = argparse.ArgumentParser(prog="python -m winlab.daemon", description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", required=True, type=pathlib.Path)
    parser.add_argument("--state-dir", required=True, type=pathlib.Path)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return run(args.fleet.absolute(), args.state_dir.absolute())


if __name__ == "__main__":
    sys.exit(main())
