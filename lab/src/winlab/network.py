"""The lab's real network: BIND for the fleet's zone, one KMS TCP listener per KMS host,
and a KMS transport that finds and reaches hosts over real DNS and TCP.

``LabNetwork(world, state_dir)`` wires the pieces of ``winlab.servers`` into a
``World``:

- a ``BindServer`` for the fleet's domain on 127.0.0.1 (port ``spec.lab.dns_port``,
  0 = a free one) with an A record per host; KMS hosts publish ``_vlmcs._tcp`` SRV
  records into it by TSIG-signed RFC 2136 updates sent from their own address
  (``NetworkDnsView``, through ``SrvPublisher``) [WSD-DNS];
- ``NetworkKmsTransport``: a client resolves a configured KMS name (A record, or an
  IPv4 literal) or looks up ``_vlmcs._tcp.<domain>`` SRV records with queries sent
  from its own loopback address (``DnsResolver``), and sends each request with
  ``KmsConnector`` from that address (the host model orders and fails over);
- one ``KmsListener`` per KMS host on its address and effective listening port,
  open only while the host is up, sppsvc runs, a KMS host key is installed and an
  enabled inbound firewall rule opens the port (its remote-address scope is applied
  per connection through ``allow(peer)``; without such a rule nothing listens and a
  client's connect is refused). ``reconcile()`` makes the listeners match the models;
  the transport reconciles before every request, ``winlab.control.Lab`` after every
  command, ``advance``, ``reset`` and fault.

Error mapping (what the client model records): no SRV record (NXDOMAIN or an empty
answer) 0x8007232B, DNS server failure or no answer 0x8007232A, every host unreachable
0xC004F074 [licensing-api §4]. A configured KMS name that does not resolve is an
unreachable host, as in the in-process transport.

Locking: a client's ``Activate()`` runs under ``world.lock`` and the host model that
answers it needs the same lock, on the listener's connection thread. ``LockDelegate``
solves this without giving up the lock: the thread that holds it hands the socket
I/O to a worker and meanwhile runs the listener handlers' jobs itself, so every model
change still happens on the lock holder's thread, one at a time; when nobody holds
the lock (a probe or an outside client) the handler takes the lock itself.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import ipaddress
import logging
import os
import pathlib
import queue
import signal
import threading
import time
import typing as t

from winlab.models import catalog, errors
from winlab.models.errors import WmiError
from winlab.models.firewall import ACTIVE_PROFILE, Firewall
from winlab.models.kms import UNCONTACTED
from winlab.models.srv import SrvRecord
from winlab.models.transport import DnsView, KmsConnectError, KmsRequest, KmsResponse
from winlab.servers.bind import BindServer
from winlab.servers.dns_client import (
    DNS_ERROR_RCODE_NAME_ERROR,
    DNS_INFO_NO_RECORDS,
    DnsError,
    DnsLookupError,
    DnsResolver,
    SrvPublisher,
)
from winlab.servers.kms import KmsConnector, KmsListener, KmsTransportError

if t.TYPE_CHECKING:
    from winlab.models.host import WindowsHost
    from winlab.models.licensing import Product
    from winlab.models.world import World

T = t.TypeVar("T")
log = logging.getLogger("winlab.network")

#: The lab's DNS server address (the fleet's hosts use other 127/8 addresses).
DNS_ADDRESS = "127.0.0.1"
#: Seconds a client waits for a DNS answer. BIND answers on loopback in well under a
#: millisecond; a stopped server ("dns_down") costs this much per lookup.
DNS_TIMEOUT = 0.5
#: Seconds a client waits for the KMS host (connect and each read).
KMS_TIMEOUT = 5.0


# ----------------------------------------------------------------------------- locking


class _Job:
    """A handler's piece of model work waiting for the lock holder (or for the lock)."""

    def __init__(self, fn: t.Callable[[], t.Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self._claimed = False
        self._claim_lock = threading.Lock()
        self.value: t.Any = None
        self.error: BaseException | None = None

    def claim(self) -> bool:
        with self._claim_lock:
            if self._claimed:
                return False
            self._claimed = True
            return True

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:  # handed to the waiting handler thread
            self.error = exc
        finally:
            self.done.set()


class LockDelegate:
    """Runs model work under ``lock`` from threads that cannot wait for it.

    ``call_out(io)`` (by a thread about to block on network I/O while it may hold the
    lock) takes the lock re-entrantly, runs ``io`` on a worker thread and, until it
    returns, executes the jobs that ``run_locked`` posts. ``run_locked(fn)`` (by a
    listener's connection thread) runs ``fn`` at once if the lock is free, else posts
    it for the lock holder and, should the holder not be pumping, keeps trying to take
    the lock itself. Only one thread pumps at a time (the lock holder); a job must not
    call ``call_out`` itself (the KMS host's logic never does).
    """

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self._jobs: queue.SimpleQueue[t.Any] = queue.SimpleQueue()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def run_locked(self, fn: t.Callable[[], T]) -> T:
        """``fn()`` under the lock, on this thread or the lock holder's."""
        if self.lock.acquire(blocking=False):
            try:
                return fn()
            finally:
                self.lock.release()
        job = _Job(fn)
        self._jobs.put(job)
        while not job.done.wait(0.005):
            if self.lock.acquire(blocking=False):
                try:
                    if job.claim():
                        job.run()
                finally:
                    self.lock.release()
        if job.error is not None:
            raise job.error
        return t.cast(T, job.value)

    def call_out(self, io: t.Callable[[], T]) -> T:
        """Run ``io`` on a worker while serving posted jobs; return its result or raise its error."""
        with self.lock:
            finished = object()

            def work() -> T:
                try:
                    return io()
                finally:
                    self._jobs.put(finished)

            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="winlab-kms-io")
            future = self._pool.submit(work)
            while True:
                item = self._jobs.get()
                if item is finished:
                    break
                if isinstance(item, _Job) and item.claim():
                    item.run()
            return future.result()

    def close(self) -> None:
        """Stop the worker threads (a later ``call_out`` starts new ones)."""
        with self.lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


# ----------------------------------------------------------------------------- helpers


def _kms_port_open(fw: Firewall, port: int) -> bool:
    """Whether an enabled inbound Allow rule opens TCP ``port`` for sppsvc to some address."""
    for r in fw.rules.values():
        if not (r.enabled and r.direction == "Inbound" and r.action == "Allow"
                and r.protocol.upper() in ("TCP", "ANY")
                and (r.profiles == ["Any"] or ACTIVE_PROFILE in r.profiles)
                and r.service.lower() in ("any", "sppsvc")):
            continue
        for spec in r.local_ports:
            if spec.lower() == "any":
                return True
            lo, _, hi = spec.partition("-")
            if lo.isdigit() and int(lo) <= port <= int(hi or lo):
                return True
    return False


@dataclasses.dataclass(frozen=True)
class _ClientKind:
    kind: str  # "windows-client" | "windows-server" | "office-<version>"
    rank: int


_SKU_KINDS: dict[str, _ClientKind] = {}


def client_kind(activation_id: str) -> _ClientKind | None:
    """What a KMS host learns from a request's activation (SKU) ID, as Windows' KMS does from
    the SKU: Windows client or server and its release rank, or the Office version."""
    if not _SKU_KINDS:
        table: dict[str, _ClientKind] = {}
        for os_def in catalog.OSES.values():
            kind = "windows-server" if os_def.server else "windows-client"
            for edition in os_def.editions.values():
                for sku in catalog.windows_skus(os_def, edition):
                    table.setdefault(sku.id.lower(), _ClientKind(kind, os_def.rank))
        for version in catalog.OFFICE_VERSIONS:
            for product in catalog.office_products(version):
                for ospp in (False, True):
                    for sku in catalog.office_skus(version, product, ospp):
                        table.setdefault(sku.id.lower(), _ClientKind(f"office-{version}", 0))
        _SKU_KINDS.update(table)
    return _SKU_KINDS.get(activation_id.lower())


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def stop_stale_named(dns_dir: str | os.PathLike[str], timeout: float = 5.0) -> int | None:
    """Stop a ``named`` left running on the configuration in ``dns_dir`` by a lab process that
    died without stopping it (SIGKILL, crash): it would hold the state directory's lock
    file and ports. Only a process whose command line names ``dns_dir/named.conf`` is
    touched (SIGTERM, then SIGKILL). Returns the pid stopped, or None."""
    conf = str(pathlib.Path(dns_dir).absolute() / "named.conf")
    try:
        pid = int((pathlib.Path(dns_dir) / "named.pid").read_text().strip())
        args = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if not args or not os.path.basename(args[0]).startswith(b"named") or conf.encode() not in args:
        return None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pathlib.Path(f"/proc/{pid}").exists():
                return pid
            time.sleep(0.02)
    return pid


# ----------------------------------------------------------------------------- DNS


class NetworkDnsView(DnsView):
    """The World's DNS when the lab runs BIND: ``publish`` sends a TSIG-signed update from
    the KMS host's address; ``srv_records`` and ``snapshot`` read BIND. The records the
    lab published are mirrored locally (``version`` grows when they change). The faults
    ``refuse_updates`` and ``down`` act on BIND itself."""

    def __init__(self, network: LabNetwork) -> None:
        super().__init__()
        self.network = network

    @property
    def refuse_updates(self) -> bool:
        """Fault: BIND answers every dynamic update REFUSED (``BindServer.refuse_updates``)."""
        return self.network.bind.updates_refused

    @refuse_updates.setter
    def refuse_updates(self, value: bool) -> None:
        self.network.bind.refuse_updates(bool(value))
        self.version += 1

    @property
    def down(self) -> bool:
        """Fault: BIND is stopped (lookups time out: 0x8007232A)."""
        return self.network.started and not self.network.bind.running

    @down.setter
    def down(self, value: bool) -> None:
        if value:
            self.network.bind.stop()
        elif self.network.started:
            self.network.bind.start()
        self.version += 1

    def publish(self, record: SrvRecord) -> bool:
        """Send the RFC 2136 update for ``record`` from its target host's address; False
        (``last_error`` says why) when BIND refuses it or does not answer."""
        net = self.network
        source = net.address_of(record.target)
        owner = f"_vlmcs._tcp.{record.domain.lower().rstrip('.')}."
        publisher = SrvPublisher(DNS_ADDRESS, net.bind.port, net.bind.zone, net.bind.key_name,
                                 net.bind.key_secret, net.bind.key_algorithm, timeout=DNS_TIMEOUT * 4,
                                 source=source)
        try:
            publisher.publish(record.target, record.port, priority=record.priority, weight=record.weight,
                              ttl=record.ttl, owner=owner)
        except DnsError as exc:
            self.last_error = str(exc)
            return False
        self.last_error = None
        self._store(record)
        return True

    def srv_records(self, domain: str) -> list[SrvRecord]:
        """What BIND holds under ``_vlmcs._tcp.<domain>`` (empty when nothing, or BIND is down)."""
        try:
            found = self.network.resolver(DNS_ADDRESS).lookup_srv(domain)
        except DnsLookupError:
            return []
        return found

    def snapshot(self) -> dict[str, list[dict[str, t.Any]]]:
        """Records by owner name, read from BIND, for the fleet's zone, the domains of its static
        records and every domain the lab published to."""
        out: dict[str, list[dict[str, t.Any]]] = {}
        for dom in self._domains():
            recs = self.srv_records(dom)
            if recs:
                out[f"_vlmcs._tcp.{dom}"] = [dataclasses.asdict(r) for r in
                                             sorted(recs, key=lambda r: (r.priority, r.weight, r.target, r.port))]
        return out

    def zone_srv(self, zone: str) -> list[tuple[str, SrvRecord]]:
        """Every ``_vlmcs._tcp`` SRV record BIND serves in ``zone`` (the zone's own domain and
        the domains below it that hold static records or the lab published to), with its TTL."""
        z = zone.lower().rstrip(".")
        out: list[tuple[str, SrvRecord]] = []
        for dom in self._domains():
            if dom != z and not dom.endswith("." + z):
                continue
            owner = f"_vlmcs._tcp.{dom}"
            for ttl, prio, weight, port, target in self.network.bind.srv_rrset(owner):
                out.append((owner, SrvRecord(dom, target, port, prio, weight, ttl)))
        return out

    def add_srv(self, owner: str, record: SrvRecord) -> None:
        """A TSIG-signed add at ``owner`` (the DNS server's own management path)."""
        rdata = f"{record.priority} {record.weight} {record.port} {record.target.rstrip('.')}."
        self.network.bind.update_srv(owner, add=[(record.ttl, rdata)])
        self.version += 1

    def remove_srv(self, owner: str, record: SrvRecord) -> bool:
        """A TSIG-signed delete of the exact record at ``owner``; False when it is not there."""
        rdata = f"{record.priority} {record.weight} {record.port} {record.target.rstrip('.')}."
        present = any((p, w, po, tg) == (record.priority, record.weight, record.port, record.target.lower().rstrip("."))
                      for _ttl, p, w, po, tg in self.network.bind.srv_rrset(owner))
        if not present:
            return False
        self.network.bind.update_srv(owner, delete=[rdata])
        self.version += 1
        return True

    def _domains(self) -> list[str]:
        """The fleet's zone, the domains of the fleet file's static records (``srv_records``)
        and every domain the lab published to, sorted."""
        spec = self.network.world.spec
        static = {d for r in spec.srv_records if (d := r.kms_domain(spec.domain)) is not None}
        return sorted({self.network.bind.zone, *static, *self._records})

    def forget(self) -> None:
        """Drop the mirror (after BIND got a fresh zone)."""
        self._records.clear()
        self.version += 1


# ----------------------------------------------------------------------------- KMS


class NetworkKmsTransport:
    """``KmsTransport`` over the lab's BIND and real TCP (see the module docstring)."""

    def __init__(self, network: LabNetwork) -> None:
        self.network = network
        self.connector = KmsConnector()

    def state_token(self) -> t.Hashable:
        """Changes with every fault, BIND restart and listener change."""
        return ("network", self.network.version)

    def discover(self, client_host: WindowsHost, domain: str) -> list[SrvRecord]:
        """SRV lookup sent from the client's address; ``WmiError`` 0x8007232B (NXDOMAIN or no
        SRV record) or 0x8007232A (server failure, no answer)."""
        resolver = self.network.resolver(client_host.spec.address)
        dom = domain.lower().rstrip(".")
        try:
            found = resolver.lookup_srv(dom)
        except DnsLookupError as exc:
            if exc.win32_code in (DNS_ERROR_RCODE_NAME_ERROR, DNS_INFO_NO_RECORDS):
                raise WmiError(errors.HR_DNS_ERROR_RCODE_NAME_ERROR, exc.message) from exc
            raise WmiError(errors.HR_DNS_ERROR_RCODE_SERVER_FAILURE, exc.message) from exc
        return found

    def _address(self, client_host: WindowsHost, name: str) -> str:
        n = name.strip().rstrip(".").lower()
        try:
            ip = ipaddress.ip_address(n)
        except ValueError:
            pass
        else:
            if ip.version != 4 or not ip.is_loopback:
                raise KmsConnectError(f"'{name}' is not a lab (127/8) address")
            return str(ip)
        fqdn = n if "." in n else f"{n}.{client_host.domain}"  # the primary DNS suffix
        try:
            return self.network.resolver(client_host.spec.address).lookup_a(fqdn)[0]
        except DnsLookupError as exc:
            raise KmsConnectError(f"'{name}' does not resolve: {exc}") from exc

    def request(self, client_host: WindowsHost, product: Product, target: tuple[str, int]) -> KmsResponse:
        """Resolve ``target``, connect from the client's address and send one request; raises
        ``KmsConnectError`` when no KMS answers there (refused, reset, timeout, RPC errors)."""
        name, port = target
        if not client_host.reachable:
            raise KmsConnectError(f"{client_host.fqdn} is down and sends nothing")
        address = self._address(client_host, name)
        # The listeners of the hosts at that address match their models before the connect (the
        # lab reconciles a host after each of its commands, and every host after faults and clock
        # moves; this catches a model changed directly). Not every host's: one activation must not
        # cost the lab the size of the fleet.
        self.network.reconcile([k for k, h in self.network.world.hosts.items() if str(h.spec.address) == address])
        req = client_host.kms_request_for(product)
        body = {"client_machine_id": req.cmid, "client_fqdn": req.client_name, "application_id": req.app_id,
                "activation_id": req.sku_id, "license_status": req.license_status,
                "request_time": _utc(client_host.now)}
        source = client_host.spec.address

        def exchange() -> dict[str, t.Any]:
            return self.connector.request(address, port, body, source_address=source, timeout=KMS_TIMEOUT)

        try:
            answer = self.network.delegate.call_out(exchange)
        except KmsTransportError as exc:
            raise KmsConnectError(str(exc)) from exc
        hresult = int(answer["hresult"])
        # The wire carries counts as non-negative integers; the model's "no count" (-1 /
        # UNCONTACTED) belongs to answers that are neither an activation nor 0xC004F038.
        counted = hresult in (0, errors.SL_E_VL_NOT_ENOUGH_COUNT)
        return KmsResponse(hresult=hresult, current_count=int(answer["current_count"]) if counted else UNCONTACTED,
                           required=int(answer["required_count"]), host_name=str(answer["host_fqdn"]),
                           host_address=address, port=port, host_pid=str(answer["host_extended_pid"]),
                           activation_interval=int(answer["activation_interval"]),
                           renewal_interval=int(answer["renewal_interval"]))


# ----------------------------------------------------------------------------- the network


class LabNetwork:
    """BIND, KMS listeners and the network transport of one World (see the module docstring).

    ``start()`` starts BIND (A records for every host) and installs the transport and
    DNS view in the World; ``stop()`` closes every listener and stops BIND, leaving no
    process and no socket. ``reconcile()`` must be called under ``world.lock`` (it is
    re-entrant). ``closed`` holds the hosts whose KMS port the lab fault closed.
    """

    def __init__(self, world: World, state_dir: str | pathlib.Path, dns_port: int | None = None) -> None:
        self.world = world
        self.state_dir = pathlib.Path(state_dir)
        port = world.spec.lab.dns_port if dns_port is None else dns_port
        self.bind = BindServer(world.spec.domain, self.state_dir, DNS_ADDRESS, port)
        self.delegate = LockDelegate(world.lock)
        self.transport = NetworkKmsTransport(self)
        self.dns_view = NetworkDnsView(self)
        self.listeners: dict[str, KmsListener] = {}
        self.closed: set[str] = set()
        self.version = 0
        self.started = False
        self._resolvers: dict[str, DnsResolver] = {}
        for h in world.spec.hosts:
            self.bind.add_host(h.fqdn, h.address)
        for r in world.spec.srv_records:  # e.g. the record a decommissioned KMS host left behind
            self.bind.add_srv(r.name, r.target, r.port, priority=r.priority, weight=r.weight, ttl=r.ttl)

    # ------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start BIND and install the network transport and DNS view; then reconcile."""
        with self.world.lock:
            if self.started:
                return
            # A fresh zone: only the records of the fleet file (a state directory may
            # hold the zone and journal of an earlier run, and the named of a crashed one).
            stop_stale_named(self.state_dir)
            self._forget_zone()
            self.bind.start()
            self.started = True
            self.world.set_kms_transport(self.transport)
            self.world.set_dns_view(self.dns_view)
            self.version += 1
            self.reconcile()

    def stop(self) -> None:
        """Close every KMS listener, stop BIND, give the World its in-process transport back."""
        with self.world.lock:
            for listener in self.listeners.values():
                listener.stop()
            self.listeners.clear()
            self.bind.stop()
            if self.started:
                self.world.set_kms_transport(None)
                self.world.set_dns_view(None)
            self.started = False
            self.version += 1
        self.delegate.close()

    def reset(self) -> None:
        """After ``World.reset()``: a fresh zone (only the fleet file's records), listeners per the models."""
        with self.world.lock:
            for listener in self.listeners.values():
                listener.stop()
            self.listeners.clear()
            self.closed.clear()
            self.bind.stop()
            self.bind.refuse_updates(False)
            self._forget_zone()
            self.bind.start()
            self.dns_view.forget()
            self.version += 1
            self.reconcile()

    def _forget_zone(self) -> None:
        zone = self.bind.zone_path
        for path in (zone, zone.with_name(zone.name + ".jnl")):
            path.unlink(missing_ok=True)

    # ------------------------------------------------------------------- queries
    def resolver(self, source: str) -> DnsResolver:
        """A resolver for BIND sending from ``source`` (a lab address)."""
        res = self._resolvers.get(source)
        if res is None or res.port != self.bind.port:
            res = DnsResolver(DNS_ADDRESS, self.bind.port, timeout=DNS_TIMEOUT, source=source)
            self._resolvers[source] = res
        return res

    def address_of(self, fqdn: str) -> str | None:
        """The address of the lab host called ``fqdn`` (None when no host has that name)."""
        n = fqdn.lower().rstrip(".")
        for h in self.world.hosts.values():
            if h.fqdn == n:
                return str(h.spec.address)
        return None

    def info(self) -> dict[str, t.Any]:
        """Where the DNS server is and the TSIG key that may update the zone (a secret)."""
        return {"server": DNS_ADDRESS, "port": self.bind.port, "zone": self.bind.zone,
                "tsig_key_name": self.bind.key_name, "tsig_algorithm": self.bind.key_algorithm,
                "tsig_key_secret": self.bind.key_secret, "running": self.bind.running}

    def listening(self) -> dict[str, tuple[str, int]]:
        """Host name -> (address, port) of each open KMS listener."""
        return {self.world.hosts[k].name: (lst.address, lst.port) for k, lst in sorted(self.listeners.items())
                if k in self.world.hosts}

    # ------------------------------------------------------------------- listeners
    def _desired(self, host: WindowsHost) -> tuple[str, int, Firewall] | None:
        if not self.started or not host.reachable:
            return None
        if not host.kms_listening():  # a KMS host key installed and sppsvc running
            return None
        port = host.kms_effective_port()
        if not _kms_port_open(host.firewall, port):
            return None
        # A copy: the accept thread reads it without the world lock.
        fw = Firewall()
        fw.rules = {k: dataclasses.replace(r, profiles=list(r.profiles), local_ports=list(r.local_ports),
                                           remote_addresses=list(r.remote_addresses))
                    for k, r in host.firewall.rules.items()}
        return str(host.spec.address), port, fw

    def reconcile(self, keys: t.Iterable[str] | None = None) -> None:
        """Open, close, move or rescope the KMS listeners to match the host models: those of
        ``keys`` (the hosts a command ran on), or of every host."""
        with self.world.lock:
            hosts = self.world.hosts
            chosen = hosts.items() if keys is None else [(k, hosts[k]) for k in keys if k in hosts]
            for key, host in chosen:
                want = self._desired(host)
                have = self.listeners.get(key)
                if want is None:
                    if have is not None:
                        have.stop()
                        del self.listeners[key]
                        self.version += 1
                    continue
                address, port, fw = want
                if have is not None and (have.address, have.port) != (address, port):
                    have.stop()
                    del self.listeners[key]
                    have = None
                if have is None:
                    have = KmsListener(address, port, handler=self._handler(key))
                    try:
                        have.start()
                    except OSError as exc:
                        # Another process holds the port: the host serves no one, as a
                        # Windows KMS host whose port is taken.
                        log.warning("KMS listener of %s cannot listen on %s:%d: %s", host.name, address, port, exc)
                        continue
                    self.listeners[key] = have
                    self.version += 1
                # The kms_port_closed fault is a firewall that blocks the port: the listener stays
                # (sppsvc still listens) and every client is turned away, as a scoped-out address is.
                have.allow = self._blocked if host.name.lower() in self.closed else self._allow(fw, port)
            if keys is None:
                for key in [k for k in self.listeners if k not in self.world.hosts]:
                    self.listeners.pop(key).stop()

    @staticmethod
    def _blocked(peer: str) -> bool:
        return False

    @staticmethod
    def _allow(fw: Firewall, port: int) -> t.Callable[[str], bool]:
        return lambda peer: fw.allows(port, peer, "sppsvc")

    def _handler(self, key: str) -> t.Callable[[dict[str, t.Any], str], dict[str, t.Any]]:
        def handle(body: dict[str, t.Any], peer: str) -> dict[str, t.Any]:
            return self.delegate.run_locked(lambda: self._serve(key, body, peer))

        return handle

    def _serve(self, key: str, body: dict[str, t.Any], peer: str) -> dict[str, t.Any]:
        """The KMS host's answer to one request (runs under ``world.lock``)."""
        host = self.world.hosts[key]
        listener = self.listeners.get(key)
        port = listener.port if listener is not None else host.kms_effective_port()
        kind = client_kind(str(body["activation_id"]))
        req = KmsRequest(cmid=str(body["client_machine_id"]), client_name=str(body["client_fqdn"]),
                         client_address=peer, sku_id=str(body["activation_id"]),
                         app_id=str(body["application_id"]),
                         # An unknown SKU is served as an Office request no host SKU covers:
                         # 0xC004F042 (SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH).
                         kind=kind.kind if kind else "office-unknown", client_rank=kind.rank if kind else 0,
                         license_status=int(body["license_status"]))
        resp = host.kms_serve(req, port)
        return {"hresult": resp.hresult,
                "current_count": 0 if resp.current_count == UNCONTACTED else resp.current_count,
                "required_count": resp.required, "activation_interval": resp.activation_interval,
                "renewal_interval": resp.renewal_interval, "host_fqdn": resp.host_name,
                "host_extended_pid": resp.host_pid or "unknown"}
