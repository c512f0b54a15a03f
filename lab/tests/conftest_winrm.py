"""Fixtures for the WinRM layer's tests (loaded with ``pytest_plugins = ["conftest_winrm"]``).

Every server binds port 0 on its own 127.0.77.x address and is stopped by the fixture, so tests
can run in parallel (pytest-xdist) and leave nothing listening.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import threading
import typing as t

import pytest

from winlab.servers.winrm import WinRMServer
from winlab.types import CommandResult, Endpoint

USER = "Administrator"
PASSWORD = "Lab:Passw0rd!"  # a colon on purpose: NTLM user files must cope with it

# Each xdist worker takes its own block of last octets, so parallel workers never share an address.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0)
_OCTETS = itertools.count(10 + (_WORKER % 8) * 30)


def next_address() -> str:
    """A loopback address no other test of this worker uses (127.0.77.10 ... 127.0.77.249)."""
    return f"127.0.77.{10 + (next(_OCTETS) - 10) % 240}"


class EchoRunner:
    """A command runner that records its calls and echoes them back.

    stdout is ``ran: <command line>`` then, if stdin was given, ``stdin: <stdin>``; stderr is
    ``warning``; the exit code is the number after ``exit`` in the command line (``cmd /c exit
    3``), else 0. ``block`` makes calls wait until it is set.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.block: threading.Event | None = None
        self._lock = threading.Lock()

    def __call__(self, command_line: str, stdin: bytes) -> CommandResult:
        with self._lock:
            self.calls.append((command_line, stdin))
        if self.block is not None:
            assert self.block.wait(30), "test runner was never released"
        words = command_line.split()
        rc = int(words[words.index("exit") + 1]) if "exit" in words[:-1] else 0
        out = b"ran: " + command_line.encode()
        if stdin:
            out += b"\nstdin: " + stdin
        return CommandResult(rc=rc, stdout=out, stderr=b"warning")


ServerFactory = t.Callable[..., tuple[WinRMServer, list[Endpoint]]]


@pytest.fixture
def winrm_server(tmp_path: pathlib.Path) -> t.Iterator[ServerFactory]:
    """Start a WinRMServer: ``winrm_server(count=1, runner=None, allow_unencrypted=False, **server_kwargs)``.

    Returns (server, endpoints); endpoints are named ``host<i>`` with :data:`USER`/:data:`PASSWORD`.
    Every server started through the factory is stopped at teardown.
    """
    started: list[WinRMServer] = []

    def factory(
        count: int = 1,
        runner: t.Any = None,
        allow_unencrypted: bool = False,
        **kwargs: t.Any,
    ) -> tuple[WinRMServer, list[Endpoint]]:
        endpoints = [
            Endpoint(
                name=f"host{i}",
                address=next_address(),
                users={USER: PASSWORD, "CORP\\ops": "0ps-Secret"},
                runner=runner or EchoRunner(),
                http_port=0,
                https_port=0,
                allow_unencrypted=allow_unencrypted,
            )
            for i in range(count)
        ]
        server = WinRMServer(endpoints, tmp_path / f"state{len(started)}", **kwargs)
        server.start()
        started.append(server)
        return server, endpoints

    yield factory
    for server in started:
        server.stop()


def url(server: WinRMServer, endpoint: Endpoint, scheme: str = "http") -> str:
    """The /wsman URL of one endpoint's HTTP or HTTPS listener."""
    http, https = server.ports(endpoint.name)
    return f"{scheme}://{endpoint.address}:{http if scheme == 'http' else https}/wsman"
