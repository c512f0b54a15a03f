"""The World: every simulated host of a fleet, their clock, randomness, DNS and Microsoft.

Built from a ``FleetSpec``; ``reset()`` rebuilds the same state from the same spec and
seed. All reads and mutations through the surfaces happen under ``world.lock``.
"""

from __future__ import annotations

import datetime as dt
import threading
import typing as t

from winlab.clock import LabClock
from winlab.models.activation import ActivationService
from winlab.models.host import WindowsHost
from winlab.models.transport import DnsView, InProcessKmsTransport, KmsTransport
from winlab.rng import LabRandom
from winlab.spec import FleetSpec


class World:
    """A simulated fleet.

    Attributes: ``spec``, ``clock`` (LabClock), ``rng`` (LabRandom),
    ``activation_service``, ``dns`` (DnsView), ``kms_transport`` (KmsTransport;
    replace with ``set_kms_transport``), ``hosts`` (lower-case name -> WindowsHost),
    ``lock`` (RLock).
    """

    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        self.lock = threading.RLock()
        self._transport_override: KmsTransport | None = None
        self._build()

    def _build(self) -> None:
        spec = self.spec
        self.clock = LabClock(spec.lab.start)
        self.rng = LabRandom(spec.lab.seed)
        self.activation_service = ActivationService(spec.keys, self.rng)
        self.dns = DnsView()
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
        """Move lab time forward by ``delta``, running every KMS activation/renewal timer
        that falls due on the way (in time order, across hosts), as sppsvc would.
        License states (grace, 180-day validity, OOT grace) follow from the new time."""
        with self.lock:
            target = self.clock.now() + delta
            guard = 0
            while True:
                due = [(when, name) for name, h in self.hosts.items()
                       if (when := h.run_timers(target)) is not None]
                if not due:
                    break
                when, _ = min(due)
                if when > self.clock.now():
                    self.clock.set(when)
                for name in sorted(n for w, n in due if w <= self.clock.now()):
                    self.hosts[name].fire_timers()
                guard += 1
                if guard > 1_000_000:
                    raise RuntimeError("runaway KMS timers")
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
            }
