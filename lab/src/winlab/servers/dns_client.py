"""DNS as a simulated Windows host uses it: SRV publishing by a KMS host, SRV and A lookups by a client.

- :class:`SrvPublisher` sends RFC 2136 dynamic updates signed with TSIG, as a KMS
  host's auto-publishing does: it adds its own ``_vlmcs._tcp`` record (priority 0,
  weight 0, port, host FQDN) and leaves other hosts' records alone [WSD-DNS],
  [ODO-DNS]. :meth:`SrvPublisher.withdraw` removes one host's record.
- :class:`DnsResolver` looks names up and turns DNS outcomes into the Win32 codes a
  Windows client reports (``winerror.h`` ``DNS_ERROR_RCODE_*`` = 9000 + RCODE):

  ========================================  ==========================================
  outcome                                   Win32 code (HRESULT)
  ========================================  ==========================================
  NXDOMAIN                                  9003 DNS_ERROR_RCODE_NAME_ERROR (0x8007232B)
                                            [SUP activation-error-0x8007232b-dns-name-does-not-exist.md]
  NOERROR without records of the type       9501 DNS_INFO_NO_RECORDS (0x8007251D) [licensing-api §4, 3P]
  SERVFAIL, timeout, server unreachable     9002 DNS_ERROR_RCODE_SERVER_FAILURE (0x8007232A)
                                            [SUP activation-error-0x8007232a-dns-server-failure.md]
  other RCODEs (FORMERR, NOTIMP, REFUSED)   9000 + RCODE (9001, 9004, 9005), winerror.h
  ========================================  ==========================================

- Records are :class:`winlab.models.srv.SrvRecord`; their order for a client is
  :func:`winlab.models.srv.order_srv`.

All traffic goes to the given server, which must be a 127/8 address: the lab never
uses the system resolver.
"""

from __future__ import annotations

import ipaddress
import typing as t

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from winlab.models.srv import SrvRecord, domain_of

#: TTL for published SRV records. The TTL a KMS host uses is UNCONFIRMED (licensing-api §5); one hour.
DEFAULT_SRV_TTL = 3600

#: Owner of the KMS SRV record, relative to the zone [WSD-DNS].
KMS_SRV_OWNER = "_vlmcs._tcp"

#: Default KMS port [WSD-PLAN].
KMS_PORT = 1688

DNS_INFO_NO_RECORDS = 9501
DNS_ERROR_RCODE_SERVER_FAILURE = 9002
DNS_ERROR_RCODE_NAME_ERROR = 9003

#: winerror.h symbols of the DNS codes this module raises.
WIN32_DNS_SYMBOLS: dict[int, str] = {
    9001: "DNS_ERROR_RCODE_FORMAT_ERROR",
    9002: "DNS_ERROR_RCODE_SERVER_FAILURE",
    9003: "DNS_ERROR_RCODE_NAME_ERROR",
    9004: "DNS_ERROR_RCODE_NOT_IMPLEMENTED",
    9005: "DNS_ERROR_RCODE_REFUSED",
    9006: "DNS_ERROR_RCODE_YXDOMAIN",
    9007: "DNS_ERROR_RCODE_YXRRSET",
    9008: "DNS_ERROR_RCODE_NXRRSET",
    9009: "DNS_ERROR_RCODE_NOTAUTH",
    9010: "DNS_ERROR_RCODE_NOTZONE",
    9016: "DNS_ERROR_RCODE_BADSIG",
    9017: "DNS_ERROR_RCODE_BADKEY",
    9018: "DNS_ERROR_RCODE_BADTIME",
    9501: "DNS_INFO_NO_RECORDS",
}

# TSIG errors come back as extended RCODEs 16..18 (RFC 8945); Windows maps them like RCODEs.
_TSIG_ERRORS: dict[type[dns.tsig.PeerError], str] = {
    dns.tsig.PeerBadSignature: "BADSIG",
    dns.tsig.PeerBadKey: "BADKEY",
    dns.tsig.PeerBadTime: "BADTIME",
    dns.tsig.PeerBadTruncation: "BADTRUNC",
}
_TSIG_CODES = {"BADSIG": 9016, "BADKEY": 9017, "BADTIME": 9018}


def hresult_of(win32_code: int) -> int:
    """HRESULT_FROM_WIN32: ``0x80070000 | code`` for a positive Win32 code."""
    return 0x80070000 | (win32_code & 0xFFFF)


class DnsError(Exception):
    """A DNS operation failed as a Windows host would see it: a Win32 code and its HRESULT."""

    def __init__(self, win32_code: int, message: str) -> None:
        self.win32_code = win32_code
        self.hresult = hresult_of(win32_code)
        self.symbol = WIN32_DNS_SYMBOLS.get(win32_code, f"WIN32_{win32_code}")
        self.message = message
        super().__init__(f"0x{self.hresult:08X} ({self.symbol}): {message}")


class DnsLookupError(DnsError):
    """A lookup found nothing usable: NXDOMAIN (9003), no records (9501), server failure (9002), ..."""


class DnsUpdateError(DnsError):
    """A dynamic update did not reach the server or got no answer (9002)."""


class DnsUpdateRefused(DnsUpdateError):
    """The server answered a dynamic update with an error RCODE.

    ``rcode`` is BIND's answer as text (``REFUSED``, ``NOTAUTH``, ``NOTZONE`` ...);
    ``tsig_error`` is the TSIG error when the signature was rejected (``BADSIG``,
    ``BADKEY``, ``BADTIME``; RFC 8945 answers those with RCODE NOTAUTH).
    """

    def __init__(self, rcode: str, message: str, tsig_error: str | None = None) -> None:
        self.rcode = rcode
        self.tsig_error = tsig_error
        if tsig_error is not None:
            code = _TSIG_CODES.get(tsig_error, 9009)
        else:
            code = 9000 + dns.rcode.from_text(rcode)
        super().__init__(code, message)


def _loopback(address: str) -> str:
    ip = ipaddress.ip_address(address)
    if ip.version != 4 or not ip.is_loopback:
        raise ValueError(f"Failed to use DNS server '{address}': the lab talks to 127.0.0.0/8 only")
    return str(ip)


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower()


class DnsResolver:
    """Queries one DNS server (a 127/8 address) the way a Windows client's resolver would.

    UDP first, TCP when the answer is truncated; ``source`` is the client's own
    loopback address so the server sees who asked. Each lookup raises
    :class:`DnsLookupError` with the Win32 code Windows would report.
    """

    def __init__(
        self, server: str, port: int = 53, *, timeout: float = 2.0, source: str | None = None
    ) -> None:
        self.server = _loopback(server)
        self.port = int(port)
        self.timeout = timeout
        self.source = _loopback(source) if source is not None else None

    def _query(self, name: str, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        qname = dns.name.from_text(_fqdn(name) + ".")
        query = dns.message.make_query(qname, rdtype)
        try:
            response, _tcp = dns.query.udp_with_fallback(
                query, self.server, timeout=self.timeout, port=self.port, source=self.source
            )
        except (OSError, dns.exception.Timeout, EOFError) as exc:
            raise DnsLookupError(
                DNS_ERROR_RCODE_SERVER_FAILURE,
                f"Failed to query {dns.rdatatype.to_text(rdtype)} '{_fqdn(name)}': DNS server "
                f"{self.server}:{self.port} did not answer ({type(exc).__name__}: {exc})",
            ) from exc
        rcode = response.rcode()
        if rcode == dns.rcode.NOERROR:
            return response
        code = DNS_ERROR_RCODE_SERVER_FAILURE if rcode == dns.rcode.SERVFAIL else 9000 + int(rcode)
        raise DnsLookupError(
            code,
            f"Failed to query {dns.rdatatype.to_text(rdtype)} '{_fqdn(name)}': DNS server answered "
            f"{dns.rcode.to_text(rcode)}",
        )

    def _answer(self, name: str, rdtype: dns.rdatatype.RdataType) -> t.Any:
        """The answer's RRset of ``rdtype`` at ``name`` (iterable, with ``.ttl``)."""
        response = self._query(name, rdtype)
        rrset = next((r for r in response.answer if r.rdtype == rdtype), None)
        if rrset is None or len(rrset) == 0:
            raise DnsLookupError(
                DNS_INFO_NO_RECORDS,
                f"Failed to query {dns.rdatatype.to_text(rdtype)} '{_fqdn(name)}': no records of this type",
            )
        return rrset

    def lookup_srv(self, domain: str, service: str = KMS_SRV_OWNER) -> list[SrvRecord]:
        """SRV records of ``<service>.<domain>`` (default ``_vlmcs._tcp.<domain>``), in answer order.

        Raises :class:`DnsLookupError`: 9003 when the name does not exist (no KMS host
        ever published there), 9501 when it exists without SRV records, 9002 when
        the server fails or cannot be reached.
        """
        return self.lookup_srv_name(f"{service.strip('.')}.{_fqdn(domain)}")

    def lookup_srv_name(self, owner_fqdn: str) -> list[SrvRecord]:
        """SRV records at exactly ``owner_fqdn``; raises like :meth:`lookup_srv`."""
        rrset = self._answer(owner_fqdn, dns.rdatatype.SRV)
        domain, ttl = domain_of(owner_fqdn), int(rrset.ttl)
        return [
            SrvRecord(domain, _fqdn(r.target.to_text()), int(r.port), int(r.priority), int(r.weight), ttl)
            for r in rrset
        ]

    def lookup_a(self, name: str) -> list[str]:
        """IPv4 addresses of ``name``; raises :class:`DnsLookupError` like :meth:`lookup_srv`."""
        return [str(r.address) for r in self._answer(name, dns.rdatatype.A)]


def lookup_srv(server: str, port: int, domain: str, *, source: str | None = None) -> list[SrvRecord]:
    """Shorthand for ``DnsResolver(server, port, source=source).lookup_srv(domain)``."""
    return DnsResolver(server, port, source=source).lookup_srv(domain)


def lookup_a(server: str, port: int, name: str, *, source: str | None = None) -> list[str]:
    """Shorthand for ``DnsResolver(server, port, source=source).lookup_a(name)``."""
    return DnsResolver(server, port, source=source).lookup_a(name)


class SrvPublisher:
    """Publishes and withdraws KMS SRV records in ``zone`` on ``server`` by TSIG-signed RFC 2136 updates.

    ``key_secret`` is a secret: it is kept in a dnspython keyring and never shown in
    messages or ``repr``. ``source`` is the KMS host's own loopback address.
    """

    def __init__(  # noqa: PLR0917 - the six connection facts are the contract the brief names
        self,
        server: str,
        port: int,
        zone: str,
        key_name: str,
        key_secret: str,
        algorithm: str = "hmac-sha256",
        *,
        timeout: float = 5.0,
        source: str | None = None,
    ) -> None:
        self.server = _loopback(server)
        self.port = int(port)
        self.zone = _fqdn(zone)
        self.key_name = key_name
        self.algorithm = algorithm
        self.timeout = timeout
        self.source = _loopback(source) if source is not None else None
        self._keyring = dns.tsigkeyring.from_text({key_name: key_secret})

    def __repr__(self) -> str:
        return f"SrvPublisher(server={self.server!r}, port={self.port}, zone={self.zone!r}, key_name={self.key_name!r})"

    def _owner(self, owner: str) -> dns.name.Name:
        origin = dns.name.from_text(self.zone + ".")
        if owner.endswith("."):
            return dns.name.from_text(owner.lower())
        return dns.name.from_text(owner.lower(), origin)

    def _send(self, update: dns.update.UpdateMessage, what: str) -> None:
        try:
            response = dns.query.tcp(
                update, self.server, timeout=self.timeout, port=self.port, source=self.source
            )
        except dns.tsig.PeerError as exc:
            # The server rejected our signature: RFC 8945 answers RCODE NOTAUTH with a TSIG error.
            tsig_error = next((v for k, v in _TSIG_ERRORS.items() if isinstance(exc, k)), "BADSIG")
            raise DnsUpdateRefused(
                "NOTAUTH",
                f"Failed to {what}: DNS server rejected TSIG key '{self.key_name}' ({tsig_error})",
                tsig_error,
            ) from exc
        except (OSError, dns.exception.Timeout, EOFError) as exc:
            raise DnsUpdateError(
                DNS_ERROR_RCODE_SERVER_FAILURE,
                f"Failed to {what}: DNS server {self.server}:{self.port} did not answer ({type(exc).__name__}: {exc})",
            ) from exc
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            text = dns.rcode.to_text(rcode)
            raise DnsUpdateRefused(text, f"Failed to {what}: DNS server answered {text}")

    def _new_update(self) -> dns.update.UpdateMessage:
        return dns.update.UpdateMessage(
            self.zone + ".",
            keyring=self._keyring,
            keyname=dns.name.from_text(self.key_name),
            keyalgorithm=self.algorithm,
        )

    def publish(
        self,
        target_fqdn: str,
        port: int = KMS_PORT,
        *,
        priority: int = 0,
        weight: int = 0,
        ttl: int = DEFAULT_SRV_TTL,
        owner: str = KMS_SRV_OWNER,
    ) -> SrvRecord:
        """Add the SRV record ``owner`` -> ``priority weight port target_fqdn`` and return it.

        Only adds: records of other hosts under the same owner stay (a KMS host
        registers itself and does not remove others [WSD-DNS]). Re-publishing the
        same record is harmless (RFC 2136 §3.4.2.2 ignores duplicates). ``owner`` is
        relative to the zone unless it ends with a dot. Raises
        :class:`DnsUpdateRefused` (REFUSED, NOTAUTH/BADSIG, ...) or :class:`DnsUpdateError`.
        """
        target = _fqdn(target_fqdn)
        record = SrvRecord(domain_of(self._owner(owner).to_text()), target, port, priority, weight, ttl)
        update = self._new_update()
        update.add(self._owner(owner), ttl, "SRV", f"{priority} {weight} {port} {target}.")
        self._send(update, f"publish SRV '{owner}' -> {target}:{port}")
        return record

    def withdraw(self, target_fqdn: str, owner: str = KMS_SRV_OWNER) -> int:
        """Delete every SRV record under ``owner`` whose target is ``target_fqdn``; return how many.

        Reads the current records first (TCP), then deletes exactly those RRs, so
        other hosts' records stay. Returns 0 when there was nothing to remove.
        Raises like :meth:`publish`.
        """
        target = _fqdn(target_fqdn)
        name = self._owner(owner)
        resolver = DnsResolver(self.server, self.port, timeout=self.timeout, source=self.source)
        try:
            current = resolver.lookup_srv_name(name.to_text())
        except DnsLookupError as exc:
            if exc.win32_code in (DNS_ERROR_RCODE_NAME_ERROR, DNS_INFO_NO_RECORDS):
                return 0
            raise DnsUpdateError(
                exc.win32_code, f"Failed to withdraw SRV '{owner}' -> {target}: {exc.message}"
            ) from exc
        matching = [r for r in current if r.target == target]
        if not matching:
            return 0
        update = self._new_update()
        for r in matching:
            update.delete(name, "SRV", f"{r.priority} {r.weight} {r.port} {r.target}.")
        self._send(update, f"withdraw SRV '{owner}' -> {target}")
        return len(matching)
