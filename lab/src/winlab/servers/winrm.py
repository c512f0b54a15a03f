"""The WinRM listeners of a simulated fleet: one asyncio event loop thread serves every host.

Each :class:`~winlab.types.Endpoint` gets an HTTP listener (default 5985) and an HTTPS listener
(default 5986) on its own loopback address. Requests are framed and authenticated by
:mod:`winlab.protocols.ntlm_http` and answered by a :class:`~winlab.protocols.wsman.WinRSHost`;
command runners execute in a small thread pool, never on the event loop. HTTP/1.1 keep-alive is
honoured because the NTLM context belongs to the TCP connection.

Scale: all listeners share the loop thread, so 200 hosts (400 listening sockets) cost one thread
plus the runner pool. Measured on the project machine: 200 hosts start in about 0.6 s (certificate
issuing included) and add about 10-15 MB of RSS; test_many_endpoints_start_fast_and_stop_clean
keeps the start under 5 s.

Faults (set by the control plane at run time, see :meth:`WinRMServer.set_fault`):

- ``down``: the host's listeners are closed (connections are refused) and its open connections
  are cut; clearing the fault listens again on the same ports.
- ``drop_connection``: the next Command or Receive (``times`` of them, or all while set when
  ``times`` is None) gets its TCP connection closed without a reply.
- ``slow``: every reply is delayed by ``delay`` seconds (default 2).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import ipaddress
import logging
import pathlib
import re
import socket
import ssl
import threading
import types
import typing as t

from winlab.protocols import ntlm_http, wsman
from winlab.servers import tls
from winlab.types import Endpoint

log = logging.getLogger(__name__)

FAULT_KINDS = ("down", "drop_connection", "slow")
_STAT_KEYS = ("http_requests", "shells_created", "commands_run", "auth_failures", "connections",
              "operation_timeouts")
_DROP_ACTIONS = (wsman.ACTION_COMMAND, wsman.ACTION_RECEIVE)


@dataclasses.dataclass
class _Fault:
    kind: str
    delay: float = 2.0
    times: int | None = 1


@dataclasses.dataclass
class _Host:
    endpoint: Endpoint
    winrs: wsman.WinRSHost
    http_policy: ntlm_http.AuthPolicy
    https_policy: ntlm_http.AuthPolicy
    ssl_context: ssl.SSLContext
    ports: tuple[int, int] = (0, 0)
    sockets: list[socket.socket] = dataclasses.field(default_factory=list)
    servers: list[asyncio.Server] = dataclasses.field(default_factory=list)
    connections: set[asyncio.StreamWriter] = dataclasses.field(default_factory=set)
    faults: dict[str, _Fault] = dataclasses.field(default_factory=dict)
    stats: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(_STAT_KEYS, 0))


def _check_loopback(endpoint: Endpoint) -> None:
    # House rule: the lab binds 127.0.0.0/8 only, never anything reachable from elsewhere.
    try:
        address = ipaddress.ip_address(endpoint.address)
    except ValueError as exc:
        raise ValueError(f"Failed to start WinRM listener '{endpoint.name}': {endpoint.address!r} is not an IP address") from exc
    if address.version != 4 or not address.is_loopback:
        raise ValueError(
            f"Failed to start WinRM listener '{endpoint.name}': {endpoint.address} is not in 127.0.0.0/8"
        )


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "host"


class WinRMServer:
    """WinRM (WS-Management over HTTP/HTTPS) for a list of simulated hosts.

    ``state_dir`` receives the lab CA (``tls/ca.pem``), one certificate per host and one NTLM
    user file per host (NT hashes, mode 0600). ``workers`` is the size of the runner thread pool.
    ``cbt_hardening`` is WinRM's ``CbtHardeningLevel`` for NTLM over HTTPS (``relaxed`` is the
    Windows default).

    :meth:`start` binds every listener before returning; :meth:`stop` closes every socket and
    joins every thread it started. Usable as a context manager.
    """

    def __init__(
        self,
        endpoints: t.Sequence[Endpoint],
        state_dir: pathlib.Path,
        *,
        workers: int = 8,
        cbt_hardening: t.Literal["none", "relaxed", "strict"] = "relaxed",
    ) -> None:
        names = [e.name for e in endpoints]
        if len(set(names)) != len(names):
            raise ValueError("Failed to configure WinRM listeners: endpoint names must be unique")
        for endpoint in endpoints:
            _check_loopback(endpoint)
        self.endpoints = list(endpoints)
        self.state_dir = pathlib.Path(state_dir)
        self.workers = workers
        self.cbt_hardening = cbt_hardening
        self._hosts: dict[str, _Host] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stats_lock = threading.Lock()
        self.ca: tls.CertificateFiles | None = None

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> WinRMServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        self.stop()

    @property
    def ca_path(self) -> pathlib.Path:
        """The lab CA certificate that issued every HTTPS listener's certificate (after start)."""
        if self.ca is None:
            raise RuntimeError("the WinRM server has not been started")
        return self.ca.cert_path

    def start(self) -> None:
        """Create certificates and user files, bind all listeners, then serve them on the loop thread.

        Every socket is bound and listening when this returns. On any failure everything opened so
        far is closed again and the error is raised.
        """
        if self._thread is not None:
            raise RuntimeError("the WinRM server is already running")
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="winlab-runner")
        try:
            self._prepare_hosts()
            for host in self._hosts.values():
                self._bind(host)
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._thread = threading.Thread(target=loop.run_forever, name="winlab-winrm", daemon=True)
            self._thread.start()
            self._call(self._serve_all())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Close every listener and connection, stop the loop thread and the runner pool.

        Idempotent. A runner still executing is waited for (runners are expected to return).
        """
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            with contextlib.suppress(Exception):
                self._call(self._shutdown(), timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
        if loop is not None and not loop.is_running():
            loop.close()
        for host in self._hosts.values():
            for sock in host.sockets:
                sock.close()
            host.sockets.clear()
            host.servers.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._loop = self._thread = self._pool = None

    def _call(self, coro: t.Coroutine[t.Any, t.Any, t.Any], timeout: float | None = 60) -> t.Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _prepare_hosts(self) -> None:
        tls_dir = self.state_dir / "tls"
        users_dir = self.state_dir / "ntlm"
        self.ca = tls.ensure_ca(tls_dir)
        pool = self._pool
        assert pool is not None
        for endpoint in self.endpoints:
            stem = _file_stem(endpoint.name)
            cert = tls.issue_server_certificate(
                tls_dir, stem, host_names=[endpoint.name], addresses=[endpoint.address], ca=self.ca
            )
            book = ntlm_http.UserBook(endpoint.users, endpoint.name)
            user_file = book.write_ntlm_user_file(users_dir / f"{stem}.users")
            stats = dict.fromkeys(_STAT_KEYS, 0)
            host = _Host(
                endpoint=endpoint,
                winrs=wsman.WinRSHost(
                    endpoint.runner,
                    machine=endpoint.name,
                    submit=pool.submit,
                    on_shell_created=functools.partial(self._bump, stats, "shells_created"),
                    on_command_run=functools.partial(self._bump, stats, "commands_run"),
                ),
                http_policy=ntlm_http.AuthPolicy(
                    users=book,
                    ntlm_user_file=user_file,
                    https=False,
                    allow_unencrypted=endpoint.allow_unencrypted,
                ),
                https_policy=ntlm_http.AuthPolicy(
                    users=book,
                    ntlm_user_file=user_file,
                    https=True,
                    allow_unencrypted=endpoint.allow_unencrypted,
                    channel_bindings=ntlm_http.tls_server_end_point(cert.der, "sha256"),
                    cbt_hardening=self.cbt_hardening,
                ),
                ssl_context=tls.server_context(cert),
                stats=stats,
            )
            self._hosts[endpoint.name] = host

    def _bind(self, host: _Host) -> None:
        ports = []
        for requested in (host.ports[0] or host.endpoint.http_port, host.ports[1] or host.endpoint.https_port):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host.endpoint.address, requested))
                sock.listen(128)
                sock.setblocking(False)
            except OSError as exc:
                sock.close()
                raise OSError(
                    exc.errno,
                    f"Failed to start WinRM listener '{host.endpoint.name}' on {host.endpoint.address}:{requested}: {exc.strerror}",
                ) from exc
            host.sockets.append(sock)
            ports.append(sock.getsockname()[1])
        host.ports = (ports[0], ports[1])

    async def _serve_all(self) -> None:
        for host in self._hosts.values():
            await self._serve_host(host)

    async def _serve_host(self, host: _Host) -> None:
        http_sock, https_sock = host.sockets
        for sock, https in ((http_sock, False), (https_sock, True)):

            async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, https: bool = https) -> None:
                # stop() cancels the task of a keep-alive connection that is still open. The
                # task must end normally: on Python 3.11 asyncio's StreamReaderProtocol callback
                # calls task.exception() on it, which raises CancelledError and prints a
                # traceback (fixed in 3.12). This is the task's outermost frame, so nothing
                # above it waits for the cancellation.
                with contextlib.suppress(asyncio.CancelledError):
                    await self._connection(host, https, reader, writer)

            server = await asyncio.start_server(
                handler, sock=sock, ssl=host.ssl_context if https else None, limit=ntlm_http.MAX_HEAD_SIZE
            )
            host.servers.append(server)

    async def _close_host(self, host: _Host) -> None:
        for server in host.servers:
            server.close()
        for server in host.servers:
            await server.wait_closed()
        host.servers.clear()
        for sock in host.sockets:
            sock.close()
        host.sockets.clear()
        for writer in list(host.connections):
            writer.transport.abort()

    async def _shutdown(self) -> None:
        for host in self._hosts.values():
            await self._close_host(host)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.shutdown_default_executor()

    # ---------------------------------------------------------------- control plane

    def _host(self, name: str) -> _Host:
        try:
            return self._hosts[name]
        except KeyError:
            raise KeyError(f"no WinRM endpoint named {name!r}") from None

    def ports(self, name: str) -> tuple[int, int]:
        """The (HTTP, HTTPS) ports the host listens on (the real ones when 0 was requested)."""
        return self._host(name).ports

    def stats(self, name: str) -> dict[str, int]:
        """Counters for one host: http_requests, shells_created, commands_run (runner calls),
        auth_failures (rejected credentials, not the first anonymous 401), connections (TCP
        connections accepted, TLS ones counted once the handshake is done) and
        operation_timeouts (Receives answered with the w:TimedOut fault)."""
        host = self._host(name)
        with self._stats_lock:
            return dict(host.stats)

    def _count(self, host: _Host, key: str) -> None:
        self._bump(host.stats, key)

    def _bump(self, stats: dict[str, int], key: str) -> None:
        with self._stats_lock:
            stats[key] += 1

    def set_fault(self, name: str, fault: str, *, delay: float = 2.0, times: int | None = 1) -> None:
        """Inject a fault on one host (see the module docstring); replaces a fault of the same kind.

        ``delay`` applies to ``slow``, ``times`` to ``drop_connection`` (None: every time).
        """
        if fault not in FAULT_KINDS:
            raise ValueError(f"Failed to set fault '{fault}' on '{name}': known faults are {', '.join(FAULT_KINDS)}")
        host = self._host(name)
        if self._loop is None:
            raise RuntimeError("the WinRM server has not been started")

        async def apply() -> None:
            host.faults[fault] = _Fault(fault, delay=delay, times=times)
            if fault == "down":
                await self._close_host(host)

        self._call(apply())

    def clear_fault(self, name: str, fault: str | None = None) -> None:
        """Remove one fault (or all of them) from a host; a host that was ``down`` listens again."""
        host = self._host(name)
        if self._loop is None:
            raise RuntimeError("the WinRM server has not been started")

        async def apply() -> None:
            was_down = "down" in host.faults
            if fault is None:
                host.faults.clear()
            else:
                host.faults.pop(fault, None)
            if was_down and "down" not in host.faults:
                self._bind(host)
                await self._serve_host(host)

        self._call(apply())

    # ---------------------------------------------------------------- connections

    async def _connection(
        self, host: _Host, https: bool, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(t.cast("asyncio.Task[None]", task))
        host.connections.add(writer)
        self._count(host, "connections")
        peer = writer.get_extra_info("peername")
        client_ip = peer[0] if peer else ""
        auth = ntlm_http.ConnectionAuth(host.https_policy if https else host.http_policy)
        try:
            while "down" not in host.faults:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError):
                    break
                try:
                    request = ntlm_http.parse_request_head(head[:-4])
                    length = ntlm_http.content_length(request)
                except ntlm_http.HttpError as exc:
                    writer.write(ntlm_http.build_response(exc.status, close=True))
                    await writer.drain()
                    break
                try:
                    request.body = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                    break
                self._count(host, "http_requests")
                response = await self._respond(host, auth, request, client_ip)
                if response is None:  # drop_connection: no reply at all
                    writer.transport.abort()
                    break
                if slow := host.faults.get("slow"):
                    await asyncio.sleep(slow.delay)
                writer.write(response)
                await writer.drain()
                if not request.keep_alive:
                    break
        except (ConnectionError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        except Exception:
            log.exception("WinRM connection to %s failed", host.endpoint.name)
        finally:
            host.connections.discard(writer)
            self._tasks.discard(t.cast("asyncio.Task[None]", task))
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(
        self, host: _Host, auth: ntlm_http.ConnectionAuth, request: ntlm_http.HttpRequest, client_ip: str
    ) -> bytes | None:
        path = request.target.split("?", 1)[0]
        if path.lower() != "/wsman":
            return ntlm_http.build_response(404)
        if request.method != "POST":
            return ntlm_http.build_response(405, [("Allow", "POST")])
        decision = auth.process(request)
        if isinstance(decision, ntlm_http.Respond):
            if decision.auth_failure:
                self._count(host, "auth_failures")
            return ntlm_http.build_response(decision.status, decision.headers, decision.body)
        if not decision.payload:
            # pywinrm's first authenticated POST has no body: 200, empty (it sets up sealing).
            return ntlm_http.build_response(200)
        try:
            soap = wsman.parse_request(decision.payload)
        except wsman.EnvelopeError as exc:
            return ntlm_http.build_response(400, [("Content-Type", "text/plain")], str(exc).encode())
        if soap.action in _DROP_ACTIONS and (drop := host.faults.get("drop_connection")):
            if drop.times is not None:
                drop.times -= 1
                if drop.times <= 0:
                    host.faults.pop("drop_connection", None)
            return None
        outcome = host.winrs.handle(soap, wsman.CallContext(user=decision.user, client_ip=client_ip))
        if isinstance(outcome, wsman.PendingReceive):
            # Windows holds a Receive until output comes or the client's OperationTimeout passes,
            # then answers the w:TimedOut fault (code 2150858793) and the client polls again
            # (pywinrm Protocol.send_message raises WinRMOperationTimeoutError for that code;
            # ansible's winrm plugin retries the Receive on it).
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(outcome.ready)), outcome.timeout)
            outcome = outcome.finish()
            if outcome.status == 500:  # finish() answers a fault only for the timeout
                self._count(host, "operation_timeouts")
        if decision.sealed:
            acceptor = auth.acceptor
            assert acceptor is not None
            content_type, body = ntlm_http.seal(acceptor, outcome.body)
        else:
            content_type, body = ntlm_http.SOAP_CONTENT_TYPE, outcome.body
        return ntlm_http.build_response(outcome.status, [("Content-Type", content_type)], body)
