"""The World: every simulated host of a fleet, their clock, randomness, DNS and Microsoft.

Built from a ``FleetSpec``; ``reset()`` rebuilds the same state from the same spec and
seed. All reads and mutations through the surfaces happen under ``world.lock``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
import time
import typing as t

from winlab.clock import LabClock
from winlab.models.activation import ActivationService
from winlab.models.adds import Forest
from winlab.models.host import WindowsHost
from winlab.models.srv import SrvRecord
from winlab.models.transport import DnsView, InProcessKmsTransport, KmsConnectError, KmsResponse, KmsTransport
from winlab.rng import LabRandom
from winlab.spec import FleetSpec


class World:
    """A simulated fleet.

    Attributes: ``spec``, ``clock`` (LabClock), ``rng`` (LabRandom),
    ``activation_service``, ``dns`` (DnsView; replace with ``set_dns_view``),
    ``kms_transport`` (KmsTransport; replace with ``set_kms_transport``), ``hosts``
    (lower-case name -> WindowsHost), ``lock`` (RLock), ``in_advance`` (True while
    ``advance`` runs timers) and ``advance_epoch`` (grows with each ``advance``).
    """

    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        self.lock = threading.RLock()
        self._transport_override: KmsTransport | None = None
        self._dns_override: DnsView | None = None
        self.in_advance = False
        self.advance_epoch = 0
        self._kms_candidates: tuple[int, list[WindowsHost]] | None = None
        #: Called as ``restart_hook(host, delay)`` when a host is told to restart (the control
        #: plane takes its WinRM listener down and boots it); None: the host boots at once.
        self.restart_hook: t.Callable[[WindowsHost, float], None] | None = None
        # Lab fault kms_no_answer: host name (lower case) -> seconds a client waits for it.
        self.kms_silent: dict[str, float] = {}
        self._build()

    def _build(self) -> None:
        spec = self.spec
        self.clock = LabClock(spec.lab.start)
        self.rng = LabRandom(spec.lab.seed)
        self.activation_service = ActivationService(spec.keys, self.rng)
        # The forest of the fleet's domain and its activation objects (ADBA, models/adds.py).
        self.forest = Forest(spec.domain)
        self.dns: DnsView = self._dns_override or DnsView()
        if self._dns_override is None:
            # The fleet file's static records (network mode: BIND's zone file holds them).
            for r in spec.srv_records:
                domain = r.kms_domain(spec.domain)
                if domain is not None:
                    self.dns.add_static(SrvRecord(domain, r.target, r.port, r.priority, r.weight, r.ttl))
        self.kms_transport: KmsTransport = self._transport_override or InProcessKmsTransport(self)
        self.hosts: dict[str, WindowsHost] = {}
        for h in spec.hosts:
            self.hosts[h.name.lower()] = WindowsHost(self, h)
        # Clones: a host imaged from another without rearm shares its CMIDs [SUP duplicate CMID].
        for h in spec.hosts:
            if h.cmid_from:
                src = self.hosts[h.cmid_from.lower()]
                dst = self.hosts[h.name.lower()]
                dst.cmid = src.cmid
                if dst.ospp_cmid and src.ospp_cmid:
                    dst.ospp_cmid = src.ospp_cmid

    def set_kms_transport(self, transport: KmsTransport | None) -> None:
        """Use ``transport`` for KMS requests (kept across ``reset``); None restores the
        in-process transport."""
        with self.lock:
            self._transport_override = transport
            self.kms_transport = transport or InProcessKmsTransport(self)

    def set_dns_view(self, view: DnsView | None) -> None:
        """Use ``view`` as the fleet's DNS (kept across ``reset``: the owner of the view
        resets what it holds); None restores an in-memory ``DnsView``."""
        with self.lock:
            self._dns_override = view
            self.dns = view or DnsView()

    def kms_candidates(self) -> list[WindowsHost]:
        """Hosts with a KMS host key installed (the only ones that can answer a KMS client).
        Inside ``advance`` the list is computed once per span (timers install no keys)."""
        if self.in_advance and self._kms_candidates is not None and self._kms_candidates[0] == self.advance_epoch:
            return self._kms_candidates[1]
        found = [h for h in self.hosts.values() if h.kms_host_products()]
        if self.in_advance:
            self._kms_candidates = (self.advance_epoch, found)
        return found

    def kms_request(self, client: WindowsHost, product: t.Any, target: tuple[str, int]) -> KmsResponse:
        """Send one KMS request for ``client`` through the transport, unless the target is a host
        with the lab fault ``kms_no_answer``: its KMS port drops every packet, so the client's TCP
        connect gets no answer at all (no refusal) and gives up after the fault's delay. On
        Windows that is the TCP connect timeout: the SYN is sent and retransmitted twice
        (TcpMaxConnectRetransmissions 2, at 3 s and 6 s) and the connect fails after about 21 s,
        for every host Activate() tries (the DNS lookups add to it). The wait is real time, so a
        WinRM client sees the command run that long; inside ``advance`` (lab time) it is not
        slept. The lab's lock is held meanwhile: other hosts' requests wait too."""
        name = target[0].rstrip(".").lower()
        for h in self.hosts.values():
            if name in (h.name.lower(), h.fqdn, h.spec.address) and h.name.lower() in self.kms_silent:
                delay = self.kms_silent[h.name.lower()]
                if not self.in_advance and delay > 0:
                    time.sleep(delay)
                raise KmsConnectError(f"TCP {target[1]} on {h.fqdn}: no answer within {delay:g} s "
                                      "(the connection timed out; lab fault kms_no_answer)")
        return self.kms_transport.request(client, product, target)

    def host(self, name: str) -> WindowsHost:
        """A host by name (case-insensitive), FQDN or address; KeyError if unknown."""
        n = name.lower()
        if n in self.hosts:
            return self.hosts[n]
        for h in self.hosts.values():
            if n in (h.fqdn, h.spec.address):
                return h
        raise KeyError(name)

    def now(self) -> dt.datetime:
        """Lab time."""
        return self.clock.now()

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move lab time forward by ``delta``, running every timer that falls due on the way
        (KMS activation/renewal attempts, SRV refreshes) in time order across hosts, as
        sppsvc would; hosts due at the same moment fire in name order. License states
        (grace, 180-day validity, OOT grace) follow from the new time.

        Cost: one heap operation per fired timer (a timer only changes the timers of the
        host that fires it), and retries that cannot reach any KMS host because nothing
        changed since the last one are replayed without network traffic (see
        ``WindowsHost.kms_activate``)."""
        with self.lock:
            target = self.clock.now() + delta
            self.advance_epoch += 1
            self.in_advance = True
            try:
                due: dict[str, dt.datetime] = {}
                heap: list[tuple[dt.datetime, str]] = []
                for name, h in self.hosts.items():
                    when = h.run_timers(target)
                    if when is not None:
                        due[name] = when
                        heap.append((when, name))
                heapq.heapify(heap)
                guard = 0
                while heap:
                    when, name = heap[0]
                    if due.get(name) != when:
                        heapq.heappop(heap)  # superseded entry
                        continue
                    if when > self.clock.now():
                        self.clock.set(when)
                    now = self.clock.now()
                    batch: list[str] = []
                    while heap and heap[0][0] <= now:
                        w, n = heapq.heappop(heap)
                        if due.get(n) == w:
                            batch.append(n)
                            del due[n]
                    for n in sorted(batch):
                        self.hosts[n].fire_timers()
                    # DNS can change only when a KMS host refreshes its SRV record.
                    refreshes = [h.next_publish_at for h in self.kms_candidates() if h.next_publish_at is not None]
                    horizon = min(refreshes) if refreshes else None
                    for n in batch:
                        self.hosts[n].replay_timers(target, horizon)
                        nxt = self.hosts[n].run_timers(target)
                        if nxt is not None:
                            due[n] = nxt
                            heapq.heappush(heap, (nxt, n))
                    guard += 1
                    if guard > 5_000_000:
                        raise RuntimeError("runaway KMS timers")
            finally:
                self.in_advance = False
                self._kms_candidates = None
            if target > self.clock.now():
                self.clock.set(target)
            return self.clock.now()

    def reset(self) -> None:
        """Back to the state built from the spec (same seed, same start time)."""
        with self.lock:
            self._build()

    def snapshot(self) -> dict[str, t.Any]:
        """JSON-able full state: time, hosts, DNS, activation service."""
        with self.lock:
            return {
                "time": self.clock.now().isoformat(),
                "seed": self.spec.lab.seed,
                "hosts": {name: h.snapshot() for name, h in sorted(self.hosts.items())},
                "dns": self.dns.snapshot(),
                "activation_service": self.activation_service.snapshot(),
                "forest": self.forest.snapshot(),
            }
