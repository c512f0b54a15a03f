# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read and change the SRV records of a zone over DNS: a query and one RFC 2136 UPDATE, with TSIG.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Runs on the Ansible control node with dnspython (a run-time dependency of the
collection, requirements.txt); no Ansible imports. Everything goes over TCP to the
one server given, so a large RRset is never truncated and the read and the update
see the same server.

:class:`SrvZoneClient` does three things:

* :meth:`SrvZoneClient.read` queries the SRV RRset at the owner name (signed with the
  TSIG key when one is given, so a wrong key is reported before any change) and
  requires an authoritative answer;
* :func:`build_update` turns a :class:`_kms_srv_record.SrvPlan` into ONE UPDATE message (RFC 2136):
  the prerequisite is the RRset exactly as it was read ("RRset exists, value
  dependent", section 2.4.2, or "RRset does not exist", section 2.4.3), then the
  deletions of exact RDATA (section 2.5.4), then the additions. The server applies
  all or nothing (section 3.4), so an update of a record (delete old RDATA, add new)
  is atomic and a concurrent writer (a KMS host re-publishing, another play) makes
  the prerequisite fail instead of being overwritten;
* :meth:`SrvZoneClient.update` sends it and maps the answer.

Errors are :class:`DnsError` whose message names the server, the zone and the cause
and never contains the TSIG secret (only the key name). Secrets: :class:`TsigKey`
keeps the secret out of its ``repr``; nothing here logs it.
"""

from __future__ import annotations

import dataclasses
import socket
import typing as t

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdataset
    import dns.rdatatype
    import dns.tsig
    import dns.update
except ImportError as _e:  # dnspython is a run-time requirement (requirements.txt); say so clearly
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR: ImportError | None = _e
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None

from . import _kms_srv_record

LogFn = t.Callable[[int, str], None]

# RCODE numbers (RFC 1035 4.1.1, RFC 2136 2.2); plain ints so this module imports without dnspython.
RCODE_FORMERR, RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_NOTIMP, RCODE_REFUSED = 1, 2, 3, 4, 5
RCODE_YXDOMAIN, RCODE_YXRRSET, RCODE_NXRRSET, RCODE_NOTAUTH, RCODE_NOTZONE = 6, 7, 8, 9, 10

#: RCODEs of a failed prerequisite (RFC 2136 section 3.2.5): the RRset changed since it was read.
PREREQUISITE_RCODES = frozenset({RCODE_YXDOMAIN, RCODE_YXRRSET, RCODE_NXDOMAIN, RCODE_NXRRSET})


class DnsError(Exception):
    """A DNS exchange failed. ``cause`` is a short code (``REFUSED``, ``BADSIG``, ``timeout``...).

    The message never holds a TSIG secret.
    """

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class PrerequisiteFailed(DnsError):
    """The server refused the update because the RRset is no longer what was read (RFC 2136 3.2.5)."""


@dataclasses.dataclass(frozen=True)
class TsigKey:
    """A TSIG key: name, base64 secret (kept out of ``repr``), algorithm (``hmac-sha256``...)."""

    name: str
    secret: str = dataclasses.field(repr=False)
    algorithm: str = "hmac-sha256"

    def key(self) -> dns.tsig.Key:
        """The dnspython key (whose ``repr`` shows the secret: never log or format it)."""
        return dns.tsig.Key(self.name, self.secret, self.algorithm_name)

    @property
    def algorithm_name(self) -> dns.name.Name:
        # hmac-md5 is named hmac-md5.sig-alg.reg.int. on the wire (RFC 8945 section 6).
        if self.algorithm == "hmac-md5":
            return dns.tsig.HMAC_MD5
        return dns.name.from_text(self.algorithm)


# Plain explanations of the RCODEs (RFC 1035 4.1.1, RFC 2136 2.2, RFC 8945 5.2/5.3 for TSIG).
_UPDATE_CAUSES: dict[int, str] = {
    RCODE_REFUSED: "the server refused the update: its policy does not let this control node{key} change "
    "the zone (BIND: allow-update / update-policy; Windows DNS: dynamic updates off or secure only)",
    RCODE_NOTAUTH: "the server is not authoritative for the zone (wrong server, or the zone name is not "
    "a zone on it)",
    RCODE_SERVFAIL: "the server failed to process the update (zone not loaded, or it could not write "
    "its journal; see the server's log)",
    RCODE_NOTIMP: "the server does not implement dynamic updates (RFC 2136)",
    RCODE_FORMERR: "the server could not parse the update message",
    RCODE_NOTZONE: "the owner name is not inside the zone",
}
_QUERY_CAUSES: dict[int, str] = {
    RCODE_REFUSED: "the server refused the query: it does not serve the zone (or does not answer this "
    "control node)",
    RCODE_SERVFAIL: "the server failed to answer (zone not loaded; see the server's log)",
    RCODE_NOTAUTH: "the server is not authoritative for the zone",
    RCODE_NOTIMP: "the server does not implement this query",
    RCODE_FORMERR: "the server could not parse the query",
}


class SrvZoneClient:
    """Reads and updates the SRV RRset at one owner name of ``zone`` on ``server``:``port`` over TCP.

    ``server`` is an IP address or a host name (resolved once with the control node's
    resolver). ``log(level, text)`` receives progress lines (level 2..4); it never
    receives the secret.
    """

    def __init__(
        self,
        server: str,
        zone: str,
        *,
        port: int = 53,
        tsig: TsigKey | None = None,
        timeout: float = 10.0,
        log: LogFn | None = None,
    ) -> None:
        if not HAS_DNSPYTHON:
            raise DnsError(
                f"Failed to reach DNS server '{server}': method rfc2136 needs the Python package dnspython "
                f"on the control node (pip install dnspython): {DNSPYTHON_IMPORT_ERROR}", "dnspython"
            )
        self.server = server
        self.port = port
        self.zone = zone
        self.tsig = tsig
        self.timeout = timeout
        self._log = log or (lambda level, text: None)
        self._address: str | None = None

    @property
    def where(self) -> str:
        """``DNS server '<server>' port <port>`` for messages."""
        return f"DNS server '{self.server}' port {self.port}"

    def _fail(self, verb: str, what: str, cause: str, code: str, exc: type[DnsError] = DnsError) -> DnsError:
        return exc(f"Failed to {verb} {what} in zone '{self.zone}' on {self.where}: {cause}", code)

    def address(self) -> str:
        """The server's IP address (``server`` itself when it is one)."""
        if self._address is None:
            try:
                infos = socket.getaddrinfo(self.server, self.port, type=socket.SOCK_STREAM)
            except socket.gaierror as e:
                raise DnsError(
                    f"Failed to resolve DNS server '{self.server}' for zone '{self.zone}': {e.strerror}",
                    "resolve",
                ) from None
            self._address = str(infos[0][4][0])
        return self._address

    def _sign(self, message: dns.message.Message) -> None:
        if self.tsig is not None:
            message.use_tsig(self.tsig.key())

    def _exchange(self, message: dns.message.Message, verb: str, what: str) -> dns.message.Message:
        key = f" with TSIG key '{self.tsig.name}'" if self.tsig else " unsigned"
        try:
            return dns.query.tcp(message, self.address(), port=self.port, timeout=self.timeout)
        except dns.tsig.PeerBadKey:
            raise self._fail(
                verb, what,
                f"TSIG error BADKEY: the server does not know key '{self.tsig.name if self.tsig else ''}' "
                f"with algorithm {self.tsig.algorithm if self.tsig else ''} (check tsig_key_name and tsig_algorithm)",
                "BADKEY",
            ) from None
        except dns.tsig.PeerBadSignature:
            raise self._fail(
                verb, what,
                f"TSIG error BADSIG: the server rejected the signature made with key "
                f"'{self.tsig.name if self.tsig else ''}': tsig_key_secret (or tsig_algorithm) does not match "
                "the server's copy of the key",
                "BADSIG",
            ) from None
        except dns.tsig.PeerBadTime:
            raise self._fail(
                verb, what,
                "TSIG error BADTIME: the clocks of the control node and the server differ by more than the "
                "signature's allowed fudge (300 s); synchronize them",
                "BADTIME",
            ) from None
        except (dns.tsig.BadSignature, dns.tsig.BadTime, dns.tsig.PeerError, dns.message.UnknownTSIGKey) as e:
            raise self._fail(
                verb, what, f"the server's answer failed TSIG verification ({type(e).__name__})", "TSIG"
            ) from None
        except dns.exception.Timeout:
            raise self._fail(
                verb, what,
                f"no answer within {self.timeout:g} s{key} (server down, TCP port {self.port} filtered, or a "
                "wrong address)",
                "timeout",
            ) from None
        except ConnectionRefusedError:
            raise self._fail(
                verb, what, f"connection refused on TCP port {self.port} (no DNS server listening there)",
                "connection refused",
            ) from None
        except (EOFError, ConnectionResetError):
            raise self._fail(verb, what, "the server closed the TCP connection without answering",
                             "connection closed") from None
        except OSError as e:
            raise self._fail(verb, what, e.strerror or type(e).__name__, "network") from None
        except dns.exception.DNSException as e:
            raise self._fail(verb, what, f"malformed answer ({type(e).__name__})", "malformed") from None

    def read(self, owner: str, authoritative: bool = True) -> list[_kms_srv_record.SrvRecord]:
        """The SRV records at ``owner`` (empty when the name or the RRset does not exist).

        Raises :class:`DnsError` on any RCODE other than NOERROR/NXDOMAIN, on a
        non-authoritative answer (unless ``authoritative`` is false: then the query asks
        for recursion and takes the answer a resolver gives, as a KMS client does), and
        on network and TSIG failures.
        """
        query = dns.message.make_query(owner + ".", dns.rdatatype.SRV)
        if authoritative:
            query.flags &= ~dns.flags.RD  # an authoritative answer is wanted, never a cached one
        self._sign(query)
        self._log(2, f"querying {owner} SRV on {self.address()}:{self.port} over TCP"
                     + (f" with TSIG key '{self.tsig.name}'" if self.tsig else ""))
        response = self._exchange(query, "read", f"the SRV records '{owner}'")
        rcode = response.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            cause = _QUERY_CAUSES.get(rcode, "unexpected answer")
            raise self._fail("read", f"the SRV records '{owner}'", f"{dns.rcode.to_text(rcode)}: {cause}",
                             dns.rcode.to_text(rcode))
        if authoritative and not response.flags & dns.flags.AA:
            raise self._fail(
                "read", f"the SRV records '{owner}'",
                "the answer is not authoritative: the server does not host the zone (give its primary server)",
                "not authoritative",
            )
        records: list[_kms_srv_record.SrvRecord] = []
        name = dns.name.from_text(owner + ".")
        for rrset in response.answer:
            if rrset.name != name or rrset.rdtype != dns.rdatatype.SRV:
                continue
            for rd in rrset:
                records.append(
                    _kms_srv_record.SrvRecord(
                        target=rd.target.to_text(omit_final_dot=True).lower(),
                        port=int(rd.port),
                        priority=int(rd.priority),
                        weight=int(rd.weight),
                        ttl=int(rrset.ttl),
                    )
                )
        self._log(3, f"read {len(records)} SRV record(s) at {owner}: " + "; ".join(r.view() for r in records))
        return records

    def addresses(self, name: str) -> list[str] | None:
        """The A and AAAA addresses of ``name`` as this server answers them (recursion asked),
        sorted; ``[]`` when the name or its addresses do not exist; None when the server gave no
        usable answer (refused, failed, timed out), i.e. unknown."""
        found: list[str] = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            query = dns.message.make_query(name.rstrip(".") + ".", rdtype)
            try:
                response = self._exchange(query, "resolve", f"the addresses of '{name}'")
            except DnsError as e:
                self._log(3, str(e))
                return None
            if response.rcode() == dns.rcode.NXDOMAIN:
                return []
            if response.rcode() != dns.rcode.NOERROR:
                return None
            found += [rd.to_text() for rrset in response.answer if rrset.rdtype == rdtype for rd in rrset]
        return sorted(found)

    def update(self, owner: str, plan: _kms_srv_record.SrvPlan) -> None:
        """Send :func:`build_update` of ``plan`` in one message and check the answer.

        Raises :class:`PrerequisiteFailed` when the RRset changed since it was read, and
        :class:`DnsError` for every other failure (REFUSED, NOTAUTH, TSIG, SERVFAIL,
        network).
        """
        message = build_update(self.zone, owner, plan)
        self._sign(message)
        self._log(2, f"sending one UPDATE for zone '{self.zone}' to {self.address()}:{self.port}: "
                     f"{len(plan.add)} to add, {len(plan.update)} to change, {len(plan.remove)} to remove")
        self._log(4, "UPDATE prerequisite and update sections:\n" + update_text(message))
        what = f"the SRV records '{owner}'"
        response = self._exchange(message, "update", what)
        rcode = response.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        text = dns.rcode.to_text(rcode)
        if rcode in PREREQUISITE_RCODES:
            raise self._fail(
                "update", what,
                f"{text}: the records changed on the server after they were read (another writer, e.g. a KMS "
                "host publishing itself or a parallel task), prerequisite failed",
                text, PrerequisiteFailed,
            )
        cause = _UPDATE_CAUSES.get(rcode, "unexpected answer")
        if rcode == dns.rcode.REFUSED:
            cause = cause.format(key=f" with TSIG key '{self.tsig.name}'" if self.tsig else " (unsigned update)")
        raise self._fail("update", what, f"{text}: {cause}", text)


def _rdata(record: _kms_srv_record.SrvRecord) -> dns.rdata.Rdata:
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SRV, record.rdata_text())


def build_update(zone: str, owner: str, plan: _kms_srv_record.SrvPlan) -> dns.update.UpdateMessage:
    """One UPDATE message for ``plan`` (unsigned; the caller signs it).

    Prerequisite: the SRV RRset at ``owner`` is exactly ``plan.before`` (value
    dependent, TTL 0 as RFC 2136 2.4.2 requires), or does not exist when ``before`` is
    empty. Update section: delete the exact RDATA of removed records and of the old
    side of updates, then add the new side of updates and the added records, each with
    its TTL. Deletions come first so that a TTL-only change (same RDATA) is a delete
    followed by an add.
    """
    origin = dns.name.from_text(zone + ".")
    name = dns.name.from_text(owner + ".")
    message = dns.update.UpdateMessage(origin)
    if plan.before:
        rds = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.SRV)
        for rec in plan.before:
            rds.add(_rdata(rec))
        message.present(name, rds)
    else:
        message.absent(name, dns.rdatatype.SRV)
    for rec in [*plan.remove, *(u.before for u in plan.update)]:
        message.delete(name, _rdata(rec))
    for rec in [*(u.after for u in plan.update), *plan.add]:
        message.add(name, rec.ttl, _rdata(rec))
    return message


def update_text(message: dns.update.UpdateMessage) -> str:
    """The prerequisite and update sections as zone-file lines (no TSIG record, so no MAC)."""
    lines = [f"prerequisite: {rrset.to_text()}" for rrset in message.prerequisite]
    lines += [f"update: {rrset.to_text()}" for rrset in message.update]
    return "\n".join(lines)
