"""The lab's control plane: run a fleet in process (``Lab``) or talk to a background one
(``ControlClient``).

``Lab`` ties the layers together: the host models (``winlab.models.world.World``),
what each host answers (``winlab.surfaces.commands.make_runner``) and the WinRM
listeners (``winlab.servers.winrm.WinRMServer``). Beside the emulated Windows API it
offers what a test or a rehearsal needs and Windows does not: the lab clock, fault
injection, the activation service's phone line, the request log, reset.

A background fleet (``winlab up``) is ``python -m winlab.daemon``: a ``Lab`` plus a
small JSON-over-HTTP control API on 127.0.0.1, authenticated with a random bearer
token. Both are recorded in ``<state_dir>/control.json`` (mode 0600);
``ControlClient(state_dir)`` reads it and calls the API.

State directory layout (default ``.winlab/`` under the current directory)::

    control.json   pid, control port, token, fleet file, host ports (0600)
    daemon.lock    flock held by the running daemon for its whole life
    daemon.log     the daemon's stdout/stderr
    daemon.error   one line: why the last start failed (absent after a good start)
    winrm/         the WinRM listeners' TLS certificate and key
    dns/           BIND's configuration, zone, journal, TSIG and rndc keys, named.log

Network mode (the default; ``network: false`` in the fleet's ``lab:`` section or
``Lab(..., network=False)`` turns it off): the lab runs a real BIND for the fleet's
zone and one KMS TCP listener per KMS host, and clients find and reach KMS hosts over
real DNS and TCP (``winlab.network``). Without it, KMS and DNS stay inside the models.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import http.client
import json
import math
import os
import pathlib
import re
import socket
import threading
import typing as t

from winlab.spec import FleetSpec, HostSpec
from winlab.surfaces.cim import CimSurface
from winlab.types import CommandResult, CommandRunner, Endpoint

if t.TYPE_CHECKING:
    from types import TracebackType

DEFAULT_STATE_DIR = ".winlab"
CONTROL_FILE = "control.json"
LOCK_FILE = "daemon.lock"
LOG_FILE = "daemon.log"
ERROR_FILE = "daemon.error"

# Application IDs [licensing-api.md §2]: Windows [SLMGR10], Office 2013+ [OSPP15],
# Office 2010 [3P, MS article masks it].
WINDOWS_APP_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFFICE_APP_IDS = {
    "0ff1ce15-a989-479d-af46-f275c6370663": "Office",
    "59a52881-a989-479d-af46-f275c6370663": "Office 2010",
}
# KMS host activation IDs of the Office host packs [licensing-api.md §2: ODO-HOST, SUP].
OFFICE_KMS_HOST_IDS = {
    "bfe7a195-4f8f-4f0b-a622-cf13c7d16864": "Office 2010",
    "2e28138a-847f-42bc-9752-61b03fff33cd": "Office 2013",
    "98ebfe73-2084-4c97-932c-c0cd1643bea7": "Office 2016",
    "70512334-47b4-44db-a233-be5ea33b914c": "Office 2019",
    "47f3b983-7c53-4d45-abc6-bcd91e2dd90a": "Office 2021",
    "f3d89bbf-c0ec-47ce-a8fa-e5a5f97e447f": "Office 2024",
}
# LicenseStatus values, named as in the MOF [MOF7601]; 6 from [SLMGR10].
LICENSE_STATUS = {
    0: "Unlicensed", 1: "Licensed", 2: "OOBGrace", 3: "OOTGrace", 4: "NonGenuineGrace",
    5: "Notification", 6: "ExtendedGrace",
}
UINT32_MINUS_ONE = 0xFFFFFFFF


class LabError(Exception):
    """A control request the lab refuses: unknown host or fault, bad duration, port in use.
    The message is one line, fit to print as is."""


class ControlError(LabError):
    """The control API of a background lab failed or is unreachable."""


class NotRunning(ControlError):
    """No lab is running in the state directory."""


# --------------------------------------------------------------------------- durations

_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str | dt.timedelta) -> dt.timedelta:
    """``"31d"``, ``"2h"``, ``"90m"``, ``"45s"`` or combinations (``"1d12h"``) as a timedelta.

    Raises LabError for anything else, and for zero.
    """
    if isinstance(text, dt.timedelta):
        delta = text
    else:
        m = _DURATION_RE.match(str(text).strip().lower())
        if not m or not any(m.groups()):
            raise LabError(f"duration '{text}' is not like 31d, 2h, 90m, 45s or 1d12h")
        d, h, mi, s = (int(g or 0) for g in m.groups())
        delta = dt.timedelta(days=d, hours=h, minutes=mi, seconds=s)
    if delta <= dt.timedelta(0):
        raise LabError(f"duration '{text}' must be positive: the lab clock only moves forward")
    return delta


# --------------------------------------------------------------------------- faults


@dataclasses.dataclass(frozen=True)
class Fault:
    """A named fault: ``apply(lab, host)`` turns it on for one host, ``clear(lab, host)`` off.

    Each fault maps to an outcome a real Windows fleet shows (a dead WinRM listener,
    a connection reset mid-batch, a slow host, a KMS port closed...).
    """

    name: str
    description: str
    apply: t.Callable[..., None]
    clear: t.Callable[[Lab, str], None]
    params: tuple[str, ...] = ()


FAULTS: dict[str, Fault] = {}


def register_fault(fault: Fault) -> None:
    """Add (or replace) a fault in the table ``Lab.fault`` accepts."""
    FAULTS[fault.name] = fault


def _server_fault(name: str, server_name: str, description: str, params: tuple[str, ...] = (),
                  **defaults: t.Any) -> Fault:
    """A fault of the WinRM listener (``WinRMServer.set_fault``)."""

    def apply(lab: Lab, host: str, **kwargs: t.Any) -> None:
        if "delay" in kwargs and (isinstance(kwargs["delay"], bool)
                                  or not isinstance(kwargs["delay"], (int, float)) or kwargs["delay"] < 0):
            raise LabError(f"fault '{name}': delay must be a number of seconds >= 0")
        if "times" in kwargs and kwargs["times"] is not None and (
                isinstance(kwargs["times"], bool) or not isinstance(kwargs["times"], int) or kwargs["times"] < 1):
            raise LabError(f"fault '{name}': times must be an integer >= 1")
        lab.server.set_fault(host, server_name, **{**defaults, **kwargs})

    def clear(lab: Lab, host: str) -> None:
        lab.server.clear_fault(host, server_name)

    return Fault(name, description, apply, clear, params)


register_fault(_server_fault("winrm_down", "down",
                             "the WinRM listeners are closed: connections are refused, as on a host that is off"))
# Every Command/Receive while set (times=None), so the status table tells the truth;
# times=N drops only the next N.
register_fault(_server_fault("drop_connection", "drop_connection",
                             "the WinRM listener cuts the TCP connection instead of answering a command",
                             ("times",), times=None))
register_fault(_server_fault("slow", "slow", "every WinRM reply is delayed (delay seconds, default 2)",
                             ("delay",)))


class KmsFaultGate:
    """A KMS transport in front of the World's own: requests to a host whose KMS port the
    lab has closed fail as an unreachable host does (the client then reports 0xC004F074
    when no other host answers [licensing-api.md §4]); everything else passes through."""

    def __init__(self, world: t.Any, inner: t.Any) -> None:
        self.world = world
        self.inner = inner
        self.closed: set[str] = set()

    def request(self, client_host: t.Any, product: t.Any, target: tuple[str, int]) -> t.Any:
        from winlab.models.transport import KmsConnectError

        name, port = target
        try:
            host = self.world.host(name.rstrip("."))
        except KeyError:
            host = None
        if host is not None and host.name.lower() in self.closed:
            raise KmsConnectError(f"TCP {port} on {host.fqdn} is closed (lab fault kms_port_closed)")
        return self.inner.request(client_host, product, target)


    def discover(self, client_host: t.Any, domain: str) -> t.Any:
        """Discovery is not gated: DNS is another server."""
        return self.inner.discover(client_host, domain)

    def state_token(self) -> t.Hashable:
        """The closed ports and the inner transport's state."""
        return (frozenset(self.closed), self.inner.state_token())


def _kms_gate(lab: Lab) -> KmsFaultGate:
    transport = lab.world.kms_transport
    if not isinstance(transport, KmsFaultGate):
        transport = KmsFaultGate(lab.world, transport)
        lab.world.set_kms_transport(transport)  # kept across World.reset()
    return transport


def _kms_port_closed_apply(lab: Lab, host: str) -> None:
    if lab.network is not None:
        # The listener stays (sppsvc runs) but turns every client away, as a blocking firewall.
        lab.network.closed.add(host.lower())
        lab.network.version += 1
    else:
        _kms_gate(lab).closed.add(host.lower())


def _kms_port_closed_clear(lab: Lab, host: str) -> None:
    if lab.network is not None:
        lab.network.closed.discard(host.lower())
        lab.network.version += 1
    else:
        _kms_gate(lab).closed.discard(host.lower())


def _fleet_fault(name: str, attribute: str) -> tuple[t.Callable[[Lab, str], None], t.Callable[[Lab, str], None]]:
    """apply/clear of a fault of the one DNS server of the fleet (``world.dns.<attribute>``):
    naming any host turns it on; it goes off once no host still has it."""

    def apply(lab: Lab, host: str) -> None:
        with lab.world.lock:
            setattr(lab.world.dns, attribute, True)

    def clear(lab: Lab, host: str) -> None:
        others = [h for h, names in lab.faults().items() if h.lower() != host.lower() and name in names]
        if not others:
            with lab.world.lock:
                setattr(lab.world.dns, attribute, False)

    return apply, clear


_dns_refuse_apply, _dns_refuse_clear = _fleet_fault("dns_refuse_updates", "refuse_updates")
_dns_down_apply, _dns_down_clear = _fleet_fault("dns_down", "down")


def _sppsvc_stop(lab: Lab, host: str) -> None:
    with lab.world.lock:
        lab.world.host(host).stop_service("sppsvc")


def _sppsvc_start(lab: Lab, host: str) -> None:
    # A start re-reads the KMS settings and republishes the SRV record, as on Windows.
    with lab.world.lock:
        lab.world.host(host).restart_service("sppsvc")


def _sppsvc_refuse_restart(lab: Lab, host: str) -> None:
    with lab.world.lock:
        lab.world.host(host).services["sppsvc"].refuse_restart = True


def _sppsvc_allow_restart(lab: Lab, host: str) -> None:
    with lab.world.lock:
        lab.world.host(host).services["sppsvc"].refuse_restart = False


def _host_down_apply(lab: Lab, host: str) -> None:
    FAULTS["winrm_down"].apply(lab, host)
    lab.world.host(host).reachable = False


def _host_down_clear(lab: Lab, host: str) -> None:
    FAULTS["winrm_down"].clear(lab, host)
    lab.world.host(host).reachable = True


register_fault(Fault("kms_port_closed", "a firewall blocks the KMS host's TCP port: sppsvc still listens, every "
                     "client's connection is turned away (reset at once by the lab, where Windows Firewall drops "
                     "it; clients get 0xC004F074)",
                     _kms_port_closed_apply, _kms_port_closed_clear))
register_fault(Fault("kms_service_stopped",
                     "sppsvc is stopped on the host: no KMS listener, no timers (clients get 0xC004F074); "
                     "clearing starts it, which re-reads the KMS settings and republishes",
                     _sppsvc_stop, _sppsvc_start))
register_fault(Fault("dns_refuse_updates",
                     "the DNS server refuses dynamic updates, so KMS hosts cannot publish _vlmcs._tcp "
                     "(one DNS server for the fleet: naming any host turns it on)",
                     _dns_refuse_apply, _dns_refuse_clear))
register_fault(Fault("dns_down",
                     "the DNS server is stopped: SRV discovery fails with 0x8007232A, publishing fails "
                     "(one DNS server for the fleet: naming any host turns it on)",
                     _dns_down_apply, _dns_down_clear))
register_fault(Fault("host_down", "the host is off: WinRM refuses connections and it answers no KMS client",
                     _host_down_apply, _host_down_clear))
register_fault(Fault("sppsvc_restart_refused",
                     "sppsvc refuses to be restarted over WinRM (Restart-Service fails with access denied, "
                     "0x80070005), as a trigger-started sppsvc may on Windows 8 and later; it keeps running "
                     "with the settings it read at its last start",
                     _sppsvc_refuse_restart, _sppsvc_allow_restart))

#: Windows' TCP connect timeout: SYN plus two retransmissions (3 s, then 6 s), given up after ~21 s
#: (TcpMaxConnectRetransmissions defaults to 2 since Vista; learn.microsoft.com troubleshoot
#: "How to modify the TCP/IP maximum retransmission time-out").
KMS_NO_ANSWER_DELAY = 21.0


def _kms_no_answer_apply(lab: Lab, host: str, delay: float = KMS_NO_ANSWER_DELAY) -> None:
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
        raise LabError("fault 'kms_no_answer': delay must be a number of seconds from 0 to 600")
    with lab.world.lock:
        lab.world.kms_silent[host.lower()] = float(delay)


def _kms_no_answer_clear(lab: Lab, host: str) -> None:
    with lab.world.lock:
        lab.world.kms_silent.pop(host.lower(), None)


register_fault(Fault("kms_no_answer",
                     "the host's KMS port drops packets: every client that tries it waits delay seconds "
                     "(default 21, Windows' TCP connect timeout) of real time, then counts it unreachable "
                     "(0xC004F074 when no other host answers); Activate() over WinRM runs that long",
                     _kms_no_answer_apply, _kms_no_answer_clear, ("delay",)))


# --------------------------------------------------------------------------- status


@dataclasses.dataclass
class StatusRow:
    """One line of ``winlab status``: what an administrator checks first on a host.

    ``windows`` is the LicenseStatus name of the primary Windows SKU (``"no key"``
    without one), ``windows_grace_days`` its GracePeriodRemaining in days (rounded up,
    as slmgr.vbs does [SLMGR10]); ``office`` the installed Office from the fleet file,
    ``office_status`` the LicenseStatus names of the Office products that have a key;
    ``kms_host`` whether any product has IsKeyManagementServiceMachine = 1 and
    ``kms_count`` its KeyManagementServiceCurrentCount per host SKU (-1 = no client yet).
    """

    name: str
    address: str
    os: str
    edition: str
    locale: str
    windows: str
    windows_grace_days: int | None
    office: str
    office_status: str
    kms_host: bool
    kms_count: str
    faults: list[str]


def _as_int(value: t.Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _count_text(value: t.Any) -> str:
    n = _as_int(value)
    if n is None:
        return "?"
    return "-1" if n in (-1, UINT32_MINUS_ONE) else str(n)


def summarize_licensing(products: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """Reduce licensing product instances (SoftwareLicensingProduct and
    OfficeSoftwareProtectionProduct, as property dicts) to the status columns.

    The primary Windows SKU is the one with the Windows ApplicationID, a product key and
    LicenseIsAddon false, as slmgr.vbs selects it [SLMGR10].
    """
    windows = "no key"
    grace: int | None = None
    office: list[str] = []
    kms: list[str] = []
    for p in products:
        if not p.get("PartialProductKey"):
            continue
        app = str(p.get("ApplicationID") or "").lower()
        status = LICENSE_STATUS.get(_as_int(p.get("LicenseStatus")) or 0, "Unknown")
        if _as_int(p.get("LicenseStatus")) is None:
            status = "Unknown"
        pid = str(p.get("ID") or "").lower()
        if _as_int(p.get("IsKeyManagementServiceMachine")) == 1:
            what = "Windows" if app == WINDOWS_APP_ID else OFFICE_KMS_HOST_IDS.get(pid, "Office")
            kms.append(f"{what} {_count_text(p.get('KeyManagementServiceCurrentCount'))}")
        if app == WINDOWS_APP_ID and not p.get("LicenseIsAddon"):
            windows = status
            minutes = _as_int(p.get("GracePeriodRemaining")) or 0
            grace = math.ceil(minutes / 1440) if minutes else None
        elif app in OFFICE_APP_IDS and pid not in OFFICE_KMS_HOST_IDS:
            office.append(status)
    return {
        "windows": windows,
        "windows_grace_days": grace,
        "office_status": ", ".join(dict.fromkeys(office)) or "-",
        "kms_host": bool(kms),
        "kms_count": ", ".join(kms) or "-",
    }


def _office_text(h: HostSpec) -> str:
    return ", ".join(f"{o.version} {'+'.join(o.products)}" for o in h.office) or "-"


# --------------------------------------------------------------------------- ports


def check_ports_free(endpoints: t.Iterable[Endpoint]) -> None:
    """Raise LabError naming ``address:port`` when a listener's port is already taken.

    Binds and closes each non-zero port once (with SO_REUSEADDR, as the listeners do),
    so the failure is a clear one-liner before any listener starts.
    """
    for ep in endpoints:
        for port in (ep.http_port, ep.https_port):
            if not port:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((ep.address, port))
                except OSError as e:
                    if e.errno == errno.EADDRINUSE:
                        raise LabError(f"{ep.address}:{port} is already in use (host '{ep.name}')") from e
                    raise LabError(f"cannot bind {ep.address}:{port} (host '{ep.name}'): {e.strerror}") from e


# --------------------------------------------------------------------------- the lab


class Lab:
    """A running simulated fleet, in this process.

    ``Lab(spec, state_dir)`` builds the host models and the WinRM listeners;
    ``start()`` (or ``with Lab(...) as lab:``) binds every listener, ``stop()`` closes
    them. All control methods are safe to call from several threads.

    ``network`` (default: the fleet's ``lab.network``, itself true by default) runs the
    lab's real network (``winlab.network.LabNetwork``, as ``self.network``): BIND on
    127.0.0.1 and KMS over TCP. ``network=False`` keeps KMS and DNS in the models
    (``self.network`` is None), for tests that want speed.
    """

    def __init__(self, spec: FleetSpec, state_dir: str | os.PathLike[str], network: bool | None = None) -> None:
        from winlab.models.world import World
        from winlab.network import LabNetwork
        from winlab.servers.winrm import WinRMServer
        from winlab.surfaces.commands import make_runner

        self.spec = spec
        self.state_dir = pathlib.Path(state_dir)
        self.world = World(spec)
        use_network = spec.lab.network if network is None else network
        self.network: LabNetwork | None = LabNetwork(self.world, self.state_dir / "dns") if use_network else None
        self._make_runner = make_runner
        self._lock = threading.RLock()
        self._faults: dict[str, set[str]] = {}
        self._runners: dict[tuple[str, int], CommandRunner] = {}
        self._bind_runners()
        self.endpoints: list[Endpoint] = [
            Endpoint(name=h.name, address=h.address, users={h.username: h.password},
                     runner=self._runner(h.name.lower()), http_port=h.http_port,
                     https_port=h.https_port, allow_unencrypted=h.allow_unencrypted)
            for h in spec.hosts
        ]
        self.server = WinRMServer(self.endpoints, self.state_dir / "winrm")
        self._started = False
        self._restarts: dict[str, threading.Timer] = {}
        self.world.restart_hook = self._restart_host

    #: Seconds a restarting host's WinRM listener stays closed (connections refused, as on a
    #: machine that is rebooting); real Windows takes minutes, the lab keeps tests short.
    restart_down_seconds = 3.0

    def _restart_host(self, host: t.Any, delay: float) -> None:
        """``World.restart_hook``: after ``delay`` seconds the host's WinRM listener closes and
        the host boots (:meth:`WindowsHost.boot`); ``restart_down_seconds`` later it listens
        again. Called under the world lock: only timers are started here."""
        name = host.name

        def come_up() -> None:
            with self._lock:
                self._restarts.pop(name.lower(), None)
                if self._started and "winrm_down" not in self._faults.get(name.lower(), set()):
                    self.server.clear_fault(name, "down")

        def go_down() -> None:
            with self._lock:
                if not self._started:
                    return
                self.server.set_fault(name, "down")
                # The lab clock moves only when told: the restart takes its time on it too, so the
                # new LastBootUpTime is later than the old one (as on a real clock).
                self.advance(dt.timedelta(seconds=max(1.0, self.restart_down_seconds)))
                with self.world.lock:
                    current = self.world.hosts.get(name.lower())
                    if current is not None:
                        current.boot()
                up = threading.Timer(self.restart_down_seconds, come_up)
                up.daemon = True
                self._restarts[name.lower()] = up
                up.start()
            self.reconcile_network()

        timer = threading.Timer(max(float(delay), 0.5), go_down)
        timer.daemon = True
        self._restarts[name.lower()] = timer
        timer.start()

    def _cancel_restarts(self) -> None:
        for name, timer in list(self._restarts.items()):
            timer.cancel()
            if self._started and "winrm_down" not in self._faults.get(name, set()):
                self.server.clear_fault(self.world.hosts[name].name, "down")
        self._restarts.clear()

    def _bind_runners(self) -> None:
        # World.reset() rebuilds its host objects, so the runners are rebuilt with them;
        # the endpoints call through _runner(), which always finds the current one.
        self._runners = {}

    def _runner(self, key: str) -> CommandRunner:
        def run(command_line: str, stdin: bytes, codepage: int = 65001) -> CommandResult:
            runner = self._runners.get((key, codepage))
            if runner is None:
                runner = self._make_runner(self.world, self.world.hosts[key], codepage=codepage)
                self._runners[(key, codepage)] = runner
            result = runner(command_line, stdin)
            # The command may have installed a key, changed a port, a rule or a service of its
            # own host; only that host's listener is reconciled (every host's would make a fleet
            # sweep cost the lab the square of its size).
            self.reconcile_network([key])
            return result

        return run

    def reconcile_network(self, keys: t.Iterable[str] | None = None) -> None:
        """Make the KMS listeners match the host models now (no-op without the network): of
        the hosts ``keys``, or of every host. The lab does this after every command (for its
        host), advance, reset and fault; call it after changing a model directly."""
        if self.network is not None and self.network.started:
            with self.world.lock:
                self.network.reconcile(keys)

    # lifecycle ---------------------------------------------------------------
    def start(self) -> Lab:
        """Bind every listener; LabError naming ``address:port`` when one is taken."""
        with self._lock:
            if self._started:
                return self
            self.state_dir.mkdir(parents=True, exist_ok=True)
            check_ports_free(self.endpoints)
            # DNS and the KMS listeners first: a client may activate as soon as WinRM answers.
            if self.network is not None:
                from winlab.servers.bind import BindError

                try:
                    self.network.start()
                except (BindError, OSError) as e:
                    self.stop()
                    raise LabError(f"cannot start the lab's DNS server: {e}") from e
            try:
                self.server.start()
            except OSError as e:
                self.stop()
                raise LabError(f"cannot start the WinRM listeners: {e}") from e
            self._started = True
            return self

    def stop(self) -> None:
        """Close every listener (idempotent)."""
        with self._lock:
            if self._started:
                for timer in self._restarts.values():
                    timer.cancel()
                self._restarts.clear()
                self._started = False
                self.server.stop()
            if self.network is not None:
                self.network.stop()

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # lookups -----------------------------------------------------------------
    def _host(self, name: str) -> t.Any:
        try:
            return self.world.hosts[name.lower()]
        except KeyError:
            raise LabError(f"no host '{name}' in this fleet (hosts: {self._host_names()})") from None

    def _host_names(self) -> str:
        names = [h.name for h in self.spec.hosts]
        return ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")

    def ports(self, name: str) -> tuple[int, int]:
        """The ``(http, https)`` ports the host's listener is bound to."""
        try:
            spec = self.spec.host(name)
        except KeyError:
            raise LabError(f"no host '{name}' in this fleet (hosts: {self._host_names()})") from None
        http_port, https_port = self.server.ports(spec.name)
        return int(http_port), int(https_port)

    def all_ports(self) -> dict[str, tuple[int, int]]:
        """Every host's ``(http, https)`` ports, keyed by host name as in the fleet file."""
        return {h.name: self.ports(h.name) for h in self.spec.hosts}

    def host_state(self, name: str) -> dict[str, t.Any]:
        """A JSON-ready snapshot of one host's model (licensing products, services, registry...)."""
        host = self._host(name)
        with self.world.lock:
            state = host.snapshot()
        return {"name": host.name, "faults": sorted(self._faults.get(host.name.lower(), ())), **state}

    def request_log(self, name: str | None = None, since: int | None = None) -> list[dict[str, t.Any]]:
        """What hosts were asked, oldest first: one entry per module call or command line,
        with the operations of a module call, each entry stamped ``host`` and ``seq``
        (its 0-based position in that host's log; ``since=n`` returns the entries from
        position ``n`` on, so ``since=last_seq + 1`` returns only newer ones).
        """
        hosts = [self._host(name)] if name else list(self.world.hosts.values())
        out: list[dict[str, t.Any]] = []
        with self.world.lock:
            for host in hosts:
                log = list(host.request_log)
                start = max(since or 0, 0)
                for seq in range(start, len(log)):
                    out.append({"host": host.name, "seq": seq, **_entry_dict(log[seq])})
        if len(hosts) > 1:
            out.sort(key=lambda e: (str(e.get("time", "")), e["host"], e["seq"]))
        return out

    def dns_info(self) -> dict[str, t.Any]:
        """The lab's DNS server and its dynamic-update key: ``server`` (127.0.0.1), ``port``,
        ``zone``, ``tsig_key_name``, ``tsig_algorithm``, ``tsig_key_secret`` (the lab's own
        synthetic key: a secret, never print it), ``running``. LabError without the network."""
        if self.network is None:
            raise LabError("this lab runs without its network (lab.network: false): there is no DNS server")
        return self.network.info()

    def kms_listeners(self) -> dict[str, tuple[str, int]]:
        """Host name -> ``(address, port)`` of every open KMS listener (empty without the network)."""
        if self.network is None:
            return {}
        with self.world.lock:
            self.network.reconcile()
            return self.network.listening()

    # control -----------------------------------------------------------------
    def reset(self) -> None:
        """Back to the fleet file's initial state: models, clock, request logs, DNS zone;
        faults cleared."""
        with self._lock:
            self.clear()
            self._cancel_restarts()
            with self.world.lock:
                self.world.reset()
                self._bind_runners()
                if self.network is not None and self.network.started:
                    self.network.reset()

    def advance(self, duration: str | dt.timedelta) -> dt.datetime:
        """Move the lab clock forward (``"31d"``, ``"2h"``, ``"90m"``) and return the new time."""
        delta = parse_duration(duration)
        with self.world.lock:
            self.reconcile_network()
            self.world.advance(delta)
            self.reconcile_network()
        return t.cast(dt.datetime, self.world.clock.now())

    def now(self) -> dt.datetime:
        """The lab clock's current time (UTC)."""
        return t.cast(dt.datetime, self.world.clock.now())

    def fault(self, host: str, name: str, **params: t.Any) -> None:
        """Turn fault ``name`` on for ``host`` until cleared; LabError listing the known faults
        for an unknown name. ``params`` are the fault's own (``delay`` for slow, ``times``
        for drop_connection)."""
        h = self._host(host)
        fault = FAULTS.get(name)
        if fault is None:
            raise LabError(f"unknown fault '{name}' (known: {', '.join(sorted(FAULTS))})")
        unknown = sorted(set(params) - set(fault.params))
        if unknown:
            raise LabError(f"fault '{name}' takes no parameter '{unknown[0]}'"
                           + (f" (it takes: {', '.join(fault.params)})" if fault.params else ""))
        with self._lock:
            fault.apply(self, h.name, **params)
            self._faults.setdefault(h.name.lower(), set()).add(name)
            self.reconcile_network()

    def clear(self, host: str | None = None) -> list[str]:
        """Clear every fault on ``host`` (all hosts when None); returns ``host:fault`` cleared."""
        targets = [self._host(host).name.lower()] if host else list(self._faults)
        cleared: list[str] = []
        with self._lock:
            for key in targets:
                hname = self.world.hosts[key].name
                for name in sorted(self._faults.pop(key, set())):
                    FAULTS[name].clear(self, hname)
                    cleared.append(f"{hname}:{name}")
            self.reconcile_network()
        return cleared

    def faults(self) -> dict[str, list[str]]:
        """Active faults per host name."""
        with self._lock:
            return {self.world.hosts[k].name: sorted(v) for k, v in self._faults.items() if v}

    def reimage(self, host: str) -> dict[str, t.Any]:
        """A fresh install of the fleet file's image on the same hardware (VAMT's CID-reuse case):
        the host is built again from its spec (keys, activation, registry, firewall, CMID, rearm
        counts as installed), keeping its name, address and listener. The machine identity the
        activation service derives installation IDs from is the hardware, so the same key gives the
        same installation ID again. Returns the new host's snapshot."""
        from winlab.models.host import WindowsHost

        h = self._host(host)
        with self._lock:
            timer = self._restarts.pop(h.name.lower(), None)
            if timer is not None:
                timer.cancel()
            with self.world.lock:
                fresh = WindowsHost(self.world, h.spec)
                self.world.hosts[h.name.lower()] = fresh
                self._runners = {k: v for k, v in self._runners.items() if k[0] != h.name.lower()}
                snapshot = fresh.snapshot()
        self.reconcile_network()
        return t.cast(dict[str, t.Any], snapshot)

    def phone(self, iid: str) -> str:
        """The simulated activation service's phone line: installation ID in, confirmation ID out."""
        from winlab.models.errors import WmiError

        try:
            with self.world.lock:
                return str(self.world.activation_service.phone(iid))
        except (WmiError, ValueError, KeyError) as e:
            raise LabError(f"the activation service refused installation ID '{iid}': {e}") from e

    def status_rows(self) -> list[StatusRow]:
        """One StatusRow per host, in fleet file order, read through the host's CIM classes."""
        rows: list[StatusRow] = []
        with self.world.lock:
            for h in self.spec.hosts:
                host = self.world.hosts[h.name.lower()]
                products: list[dict[str, t.Any]] = []
                for cls in ("SoftwareLicensingProduct", "OfficeSoftwareProtectionProduct"):
                    with contextlib.suppress(Exception):  # the class is absent on this OS
                        products.extend(_instance_dict(i) for i in CimSurface(host).cim_instances(cls))
                summary = summarize_licensing(products)
                rows.append(StatusRow(
                    name=h.name, address=h.address, os=h.os, edition=h.edition, locale=h.locale,
                    office=_office_text(h), faults=sorted(self._faults.get(h.name.lower(), ())),
                    **summary,
                ))
        return rows


def _instance_dict(instance: t.Any) -> dict[str, t.Any]:
    if isinstance(instance, dict):
        return instance
    props = getattr(instance, "properties", None)
    if isinstance(props, dict):
        return props
    if dataclasses.is_dataclass(instance) and not isinstance(instance, type):
        return dataclasses.asdict(instance)
    return dict(vars(instance))


def _entry_dict(entry: t.Any) -> dict[str, t.Any]:
    if isinstance(entry, dict):
        return dict(entry)
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        return dataclasses.asdict(entry)
    return {"entry": entry}


# --------------------------------------------------------------------------- JSON


def json_default(value: t.Any) -> t.Any:
    """``json.dumps`` default for what the models hold: datetimes, sets, dataclasses, bytes."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


# --------------------------------------------------------------------------- state dir


def state_dir_path(state_dir: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """The state directory: ``state_dir``, else ``$WINLAB_STATE_DIR``, else ``./.winlab``."""
    raw = state_dir or os.environ.get("WINLAB_STATE_DIR") or DEFAULT_STATE_DIR
    return pathlib.Path(raw).expanduser().absolute()


def write_private_json(path: pathlib.Path, data: t.Any) -> None:
    """Write JSON atomically with mode 0600 (the control file holds the bearer token)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=json_default)
    os.replace(tmp, path)


def read_control(state_dir: pathlib.Path) -> dict[str, t.Any] | None:
    """The control file's content, or None when there is none (or it is half written)."""
    try:
        with open(state_dir / CONTROL_FILE, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def daemon_running(state_dir: pathlib.Path) -> bool:
    """True while a daemon holds the state directory's lock (flock dies with its holder)."""
    path = state_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def daemon_pid(state_dir: pathlib.Path) -> int | None:
    """The pid the running daemon wrote into its lock file (None when unreadable)."""
    try:
        text = (state_dir / LOCK_FILE).read_text(encoding="ascii").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie nobody has reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


# --------------------------------------------------------------------------- client


class ControlClient:
    """The control API of the lab running in ``state_dir`` (see ``winlab up``).

    Every method raises ControlError with a one-line message when the lab refuses the
    request (unknown host, unknown fault...) or does not answer; NotRunning when no lab
    runs there.
    """

    def __init__(self, state_dir: str | os.PathLike[str] | None = None, timeout: float = 60.0) -> None:
        self.state_dir = state_dir_path(state_dir)
        info = read_control(self.state_dir)
        if info is None:
            raise NotRunning(f"no lab is running in {self.state_dir} (start one with 'winlab up')")
        self.info = info
        self.pid = int(info["pid"])
        self.port = int(info["port"])
        self._token = str(info["token"])
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, t.Any] | None = None) -> t.Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            if process_gone(self.pid):
                raise ControlError(
                    f"the lab daemon in {self.state_dir} (pid {self.pid}) is no longer running; see "
                    f"{self.state_dir / LOG_FILE}, and 'winlab down' to clean up") from e
            raise ControlError(
                f"the lab in {self.state_dir} does not answer on 127.0.0.1:{self.port} (pid {self.pid}): "
                f"{getattr(e, 'strerror', None) or e}; see {self.state_dir / LOG_FILE}") from e
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError as e:
            raise ControlError(f"the lab answered {resp.status} with a body that is not JSON") from e
        if resp.status >= 400:
            msg = data.get("error") if isinstance(data, dict) else None
            raise ControlError(str(msg or f"the lab answered HTTP {resp.status}"))
        return data

    def ping(self) -> dict[str, t.Any]:
        """``{"ok": true, "pid": ..., "hosts": N, "now": ..., "network": bool}``."""
        return t.cast(dict[str, t.Any], self._call("GET", "/v1/ping"))

    def ports(self) -> dict[str, tuple[int, int]]:
        """Host name -> ``(http, https)`` ports."""
        data = self._call("GET", "/v1/ports")
        return {k: (int(v[0]), int(v[1])) for k, v in data["ports"].items()}

    def status_rows(self) -> list[StatusRow]:
        """The ``winlab status`` rows."""
        return [StatusRow(**r) for r in self._call("GET", "/v1/status")["rows"]]

    def host_state(self, name: str) -> dict[str, t.Any]:
        """One host's model snapshot."""
        return t.cast(dict[str, t.Any], self._call("GET", f"/v1/hosts/{_quote(name)}")["state"])

    def request_log(self, name: str | None = None, since: int | None = None) -> list[dict[str, t.Any]]:
        """The request log (see ``Lab.request_log``)."""
        return t.cast(list[dict[str, t.Any]],
                      self._call("POST", "/v1/log", {"host": name, "since": since})["entries"])

    def advance(self, duration: str) -> str:
        """Move the lab clock; returns the new lab time (ISO 8601)."""
        return str(self._call("POST", "/v1/advance", {"duration": duration})["now"])

    def fault(self, host: str, name: str, **params: t.Any) -> None:
        """Turn a fault on (``params``: see ``Lab.fault``)."""
        self._call("POST", "/v1/fault", {"host": host, "name": name, "params": params})

    def clear(self, host: str | None = None) -> list[str]:
        """Clear faults on ``host`` or everywhere; returns the ``host:fault`` cleared."""
        return t.cast(list[str], self._call("POST", "/v1/clear", {"host": host})["cleared"])

    def faults(self) -> dict[str, list[str]]:
        """Active faults per host."""
        return t.cast(dict[str, list[str]], self._call("GET", "/v1/faults")["faults"])

    def phone(self, iid: str) -> str:
        """Confirmation ID for an installation ID."""
        return str(self._call("POST", "/v1/phone", {"iid": iid})["cid"])

    def reimage(self, host: str) -> dict[str, t.Any]:
        """Reinstall a host on the same hardware; its new state."""
        return t.cast(dict[str, t.Any], self._call("POST", "/v1/reimage", {"host": host})["state"])

    def reset(self) -> None:
        """Reset models, clock and logs; clear faults."""
        self._call("POST", "/v1/reset", {})

    def dns_info(self) -> dict[str, t.Any]:
        """The lab's DNS server and TSIG key (see ``Lab.dns_info``; the secret is a secret)."""
        return t.cast(dict[str, t.Any], self._call("GET", "/v1/dns")["dns"])

    def kms_listeners(self) -> dict[str, tuple[str, int]]:
        """Host name -> ``(address, port)`` of every open KMS listener."""
        data = self._call("GET", "/v1/kms")["listeners"]
        return {k: (str(v[0]), int(v[1])) for k, v in data.items()}


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
