"""How a KMS client reaches a KMS host, behind a small interface.

``KmsTransport.request(client_host, product, target)`` sends one activation request
to ``target`` = (FQDN, short name or IPv4 address, TCP port) and returns the host's
``KmsResponse``, or raises ``KmsConnectError`` when nothing answers (host down,
sppsvc stopped, no KMS listener on that port, firewall).
``KmsTransport.discover(client_host, domain)`` returns the ``_vlmcs._tcp.<domain>``
SRV records the client finds, or raises ``WmiError`` with the DNS HRESULT a Windows
client reports: 0x8007232B (DNS_ERROR_RCODE_NAME_ERROR) when there is no record,
0x8007232A (DNS_ERROR_RCODE_SERVER_FAILURE) when the DNS server fails or is down
[licensing-api §4]. ``InProcessKmsTransport`` does both between the World's host
models and its ``DnsView``; ``winlab.network.NetworkKmsTransport`` speaks real TCP
between lab addresses and real DNS to the lab's BIND, keeping this shape.

``DnsView`` is the in-memory stand-in for DNS: ``_vlmcs._tcp.<domain>`` SRV records
that KMS hosts publish when DNS publishing is on [WSD-DNS]. Records are never
removed automatically (stale records stay, as with Windows DNS without scavenging).
"""

from __future__ import annotations

import dataclasses
import typing as t

from winlab.models import errors
from winlab.models.errors import WmiError
from winlab.models.srv import KMS_OWNER, SrvRecord

if t.TYPE_CHECKING:
    from winlab.models.host import WindowsHost
    from winlab.models.licensing import Product
    from winlab.models.world import World


class DnsView:
    """In-memory ``_vlmcs._tcp`` SRV records per domain (lower-case).

    ``refuse_updates`` and ``down`` are the DNS faults (updates answered REFUSED; no
    answer at all). ``version`` grows whenever the records or the faults change, so a
    client can tell that a lookup would give the same answer as last time.
    ``last_error`` says why the latest ``publish`` was refused (None after a success).
    """

    def __init__(self) -> None:
        self._records: dict[str, list[SrvRecord]] = {}
        self._refuse_updates = False
        self._down = False
        self.version = 0
        self.last_error: str | None = None

    @property
    def refuse_updates(self) -> bool:
        """Fault: the DNS server refuses dynamic updates."""
        return self._refuse_updates

    @refuse_updates.setter
    def refuse_updates(self, value: bool) -> None:
        self._refuse_updates = bool(value)
        self.version += 1

    @property
    def down(self) -> bool:
        """Fault: the DNS server does not answer (lookups fail 0x8007232A)."""
        return self._down

    @down.setter
    def down(self, value: bool) -> None:
        self._down = bool(value)
        self.version += 1

    def srv_records(self, domain: str) -> list[SrvRecord]:
        """Records of ``_vlmcs._tcp.<domain>`` (empty when none)."""
        return list(self._records.get(domain.lower().rstrip("."), []))

    def publish(self, record: SrvRecord) -> bool:
        """Add or refresh a record (same domain+target+port replaces); False if refused."""
        if self.down or self.refuse_updates:
            self.last_error = ("the DNS server did not answer" if self.down
                               else "the DNS server refused the update (REFUSED)")
            return False
        self.last_error = None
        self._store(record)
        return True

    # -- the DNS server's management view (root/MicrosoftDNS on a dns_server host) --------
    def zone_srv(self, zone: str) -> list[tuple[str, SrvRecord]]:
        """Every ``_vlmcs._tcp`` SRV record in ``zone`` (its domain and those below it) as
        ``(owner, record)``."""
        z = zone.lower().rstrip(".")
        return [(f"{KMS_OWNER}.{dom}", r) for dom, recs in sorted(self._records.items())
                if dom == z or dom.endswith("." + z) for r in recs]

    def add_srv(self, owner: str, record: SrvRecord) -> None:
        """Add ``record`` at ``owner`` (``_vlmcs._tcp.<domain>``), as a DNS administrator does."""
        self._store(dataclasses.replace(record, domain=_kms_domain(owner)))

    def remove_srv(self, owner: str, record: SrvRecord) -> bool:
        """Remove the record at ``owner`` with the same target, port, priority and weight."""
        dom = _kms_domain(owner)
        old = self._records.get(dom, [])
        keep = [r for r in old if (r.target, r.port, r.priority, r.weight)
                != (record.target.lower().rstrip("."), record.port, record.priority, record.weight)]
        if len(keep) == len(old):
            return False
        self._records[dom] = keep
        self.version += 1
        return True

    def add_static(self, record: SrvRecord) -> None:
        """A record that is there from the start (the fleet file's ``srv_records``), whatever the faults."""
        self._store(record)

    def _store(self, record: SrvRecord) -> None:
        dom = record.domain.lower().rstrip(".")
        rec = dataclasses.replace(record, domain=dom, target=record.target.lower().rstrip("."))
        old = self._records.get(dom, [])
        recs = [r for r in old if not (r.target == rec.target and r.port == rec.port)]
        recs.append(rec)
        if sorted(recs, key=repr) != sorted(old, key=repr):
            self.version += 1
        self._records[dom] = recs

    def remove(self, domain: str, target: str | None = None) -> int:
        """Remove records of ``domain`` (only those pointing at ``target`` when given)."""
        dom = domain.lower().rstrip(".")
        before = self._records.get(dom, [])
        after = [r for r in before if target is not None and r.target != target.lower().rstrip(".")]
        self._records[dom] = after
        if len(before) != len(after):
            self.version += 1
        return len(before) - len(after)

    def snapshot(self) -> dict[str, list[dict[str, t.Any]]]:
        """JSON-able records by owner name."""
        return {f"_vlmcs._tcp.{d}": [dataclasses.asdict(r) for r in recs]
                for d, recs in sorted(self._records.items()) if recs}


@dataclasses.dataclass
class KmsRequest:
    """What a KMS client sends (the lab's own request shape, not Microsoft's wire format)."""

    cmid: str
    client_name: str  # client FQDN
    client_address: str
    sku_id: str
    app_id: str
    kind: str  # "windows-client" | "windows-server" | "office-<version>"
    client_rank: int  # OS rank (servers and clients separately), Office: 0
    license_status: int


@dataclasses.dataclass
class KmsResponse:
    """What the KMS host answers: ``hresult`` 0 activates; ``current_count`` the host's count."""

    hresult: int
    current_count: int
    required: int
    host_name: str
    host_address: str
    port: int
    host_pid: str | None
    activation_interval: int
    renewal_interval: int


class KmsConnectError(Exception):
    """No KMS answered at the target (the client tries the next one, then reports 0xC004F074)."""


class KmsTransport(t.Protocol):
    """Carries one client request to a target host, and finds hosts through DNS."""

    def request(self, client_host: WindowsHost, product: Product, target: tuple[str, int]) -> KmsResponse: ...

    def discover(self, client_host: WindowsHost, domain: str) -> list[SrvRecord]: ...

    def state_token(self) -> t.Hashable:
        """Changes whenever something outside the host models that decides reachability
        changes (faults, DNS server state); equal tokens promise equal answers for an
        unchanged world."""
        ...


class InProcessKmsTransport:
    """Delivers requests between the World's hosts without sockets.

    A target is reached when it names a host of the world (FQDN, short name in the
    client's domain, or address), the host is up (``reachable``), sppsvc runs, a KMS
    host SKU is installed, its effective listening port equals the target port, and
    its firewall admits TCP from the client's address (``SPPSVC-In-TCP`` or an own rule).
    """

    def __init__(self, world: World) -> None:
        self.world = world

    def discover(self, client_host: WindowsHost, domain: str) -> list[SrvRecord]:
        """The ``_vlmcs._tcp.<domain>`` records of the world's ``DnsView``; ``WmiError``
        0x8007232A when the DNS server is down, 0x8007232B when there is no record."""
        dns = self.world.dns
        if dns.down:
            raise WmiError(errors.HR_DNS_ERROR_RCODE_SERVER_FAILURE, "the DNS server does not answer")
        recs = dns.srv_records(domain)
        if not recs:
            raise WmiError(errors.HR_DNS_ERROR_RCODE_NAME_ERROR, f"no _vlmcs._tcp.{domain} SRV record")
        return recs

    def state_token(self) -> t.Hashable:
        """The DnsView's version (everything else lives in the host models)."""
        return ("in-process", self.world.dns.version)

    def resolve(self, name: str, client_domain: str) -> WindowsHost | None:
        """The host a name or address denotes, if any."""
        n = name.lower().rstrip(".")
        for h in self.world.hosts.values():
            if n in (h.fqdn.lower(), h.spec.address) or (n == h.name.lower() and h.fqdn.lower().endswith("." + client_domain)):
                return h
        return None

    def request(self, client_host: WindowsHost, product: Product, target: tuple[str, int]) -> KmsResponse:
        """See the class docstring; raises ``KmsConnectError`` with the reason."""
        name, port = target
        host = self.resolve(name, client_host.domain)
        if host is None:
            raise KmsConnectError(f"'{name}' does not resolve to a lab host")
        if not host.reachable:
            raise KmsConnectError(f"{host.fqdn} is down")
        svc = host.services.get("sppsvc")
        if svc is None or svc.status != "Running":
            raise KmsConnectError(f"sppsvc is not running on {host.fqdn}")
        if not host.kms_listening():
            raise KmsConnectError(f"{host.fqdn} is not a KMS host")
        if host.kms_effective_port() != port:
            raise KmsConnectError(f"{host.fqdn} does not listen on port {port}")
        if not host.firewall.allows(port, client_host.spec.address, "sppsvc"):
            raise KmsConnectError(f"the firewall of {host.fqdn} drops TCP {port} from {client_host.spec.address}")
        req = client_host.kms_request_for(product)
        return host.kms_serve(req, port)


#: The owner label pair KMS clients look up [WSD-DNS].


def _kms_domain(owner: str) -> str:
    """``_vlmcs._tcp.corp.example.test`` -> ``corp.example.test``; ValueError for another owner."""
    o = owner.lower().rstrip(".")
    if not o.startswith(KMS_OWNER + "."):
        raise ValueError(f"'{owner}' is not a _vlmcs._tcp owner name")
    return o[len(KMS_OWNER) + 1:]
