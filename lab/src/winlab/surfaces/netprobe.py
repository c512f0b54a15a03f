"""The executor's network operations as a Windows host performs them: ``dns_query`` and ``tcp_exchange``.

What Windows does, and where it is written down:

- ``dns_query`` is ``DnsQuery_W`` (dnsapi.dll) with ``DNS_QUERY_BYPASS_CACHE``: one query to
  the host's DNS server, the answer as a record list, a ``DNS_STATUS`` otherwise
  (MicrosoftDocs/sdk-api ``sdk-api-src/content/windns/nf-windns-dnsquery_w.md``; the codes
  are winerror.h's ``DNS_ERROR_RCODE_*`` = 9000 + RCODE and ``DNS_INFO_NO_RECORDS`` 9501).
  A single-label name gets the primary DNS suffix appended, as the Windows resolver does.
- ``tcp_exchange`` is a Winsock client: connect (``WSAECONNREFUSED`` 10061 when the peer
  answers the SYN with a reset, ``WSAETIMEDOUT`` 10060), send, receive
  (``WSAECONNRESET`` 10054 when the peer resets).

The lab sends for real: DNS queries go from the host's own loopback address to the lab's
BIND (``LabNetwork.resolver``), TCP connections from the host's address to the other hosts'
real listeners (KMS listeners, WinRM listeners). Nothing here looks at another host's model:
a KMS host that is down, has sppsvc stopped or its port closed answers (or not) through its
listeners exactly as a client's activation finds it. Only 127.0.0.0/8 is ever contacted; any
other address is unreachable (10065), as the lab never leaves loopback.

Without the network (an in-process lab, no BIND), there is no DNS server: every query ends
with 9002 (``DNS_ERROR_RCODE_SERVER_FAILURE``) and names do not resolve.
"""

from __future__ import annotations

import base64
import errno
import ipaddress
import socket
import struct
import time
import typing as t

from winlab.servers.dns_client import DNS_ERROR_RCODE_SERVER_FAILURE, DnsLookupError

if t.TYPE_CHECKING:
    from winlab.models.host import WindowsHost
    from winlab.network import LabNetwork

WSAECONNRESET = 10054
WSAETIMEDOUT = 10060
WSAECONNREFUSED = 10061
WSAEHOSTUNREACH = 10065
DEFAULT_TIMEOUT_MS = 2000


def _network(host: WindowsHost) -> LabNetwork | None:
    """The lab's network behind the host's world (through a fault gate, if one wraps it)."""
    transport: t.Any = host.world.kms_transport
    for _ in range(4):
        network = getattr(transport, "network", None)
        if network is not None:
            return t.cast("LabNetwork", network)
        transport = getattr(transport, "inner", None)
        if transport is None:
            break
    return None


def _fqdn(host: WindowsHost, name: str) -> str:
    n = name.strip().rstrip(".")
    return n if "." in n or not host.domain else f"{n}.{host.domain}"


def _first_value(earlier: t.Sequence[t.Mapping[str, t.Any]], ref: t.Mapping[str, t.Any], prop: str) -> t.Any:
    res = earlier[int(ref["result"])] if int(ref["result"]) < len(earlier) else {}
    instances = res.get("instances") or []
    return instances[0].get(prop) if instances else None


def _query(host: WindowsHost, name: str, rtype: str) -> tuple[int, list[dict[str, t.Any]]]:
    """(DNS_STATUS, records) of one query sent from the host's address."""
    network = _network(host)
    if network is None or not network.bind.running:
        return DNS_ERROR_RCODE_SERVER_FAILURE, []
    resolver = network.resolver(str(host.spec.address))
    fqdn = _fqdn(host, name)
    try:
        if rtype == "SRV":
            found = resolver.lookup_srv_name(fqdn)
            return 0, [{"section": "answer", "type": "SRV", "name": fqdn, "ttl": r.ttl, "target": r.target,
                        "port": r.port, "priority": r.priority, "weight": r.weight} for r in found]
        return 0, [{"section": "answer", "type": "A", "name": fqdn, "ttl": 0, "address": a}
                   for a in resolver.lookup_a(fqdn)]
    except DnsLookupError as exc:
        return exc.win32_code, []


def dns_query(host: WindowsHost, op: t.Mapping[str, t.Any], earlier: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    name = op.get("name")
    if "name_from" in op:
        name = None
        for ref in op["name_from"].get("first_of") or []:
            value = str(_first_value(earlier, ref, str(ref["property"])) or "").strip()
            if value:
                name = f"{op['name_from'].get('prefix', '')}{value}"
                break
    out: dict[str, t.Any] = {"op": "dns_query", "ok": True, "name": name, "status": None, "records": []}
    if name is not None:
        out["status"], out["records"] = _query(host, str(name), str(op["type"]))
    return out


def _winsock(exc: BaseException) -> int:
    if isinstance(exc, ConnectionRefusedError):
        return WSAECONNREFUSED
    if isinstance(exc, ConnectionResetError):
        return WSAECONNRESET
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return WSAETIMEDOUT
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return WSAEHOSTUNREACH
    return 10000 + int(getattr(exc, "errno", 0) or 0)


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _connect(source: str, address: str, port: int, timeout: float) -> socket.socket:
    if not _loopback(address):
        raise OSError(errno.EHOSTUNREACH, f"{address} is outside the lab's loopback network")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _silent_delay(host: WindowsHost, address: str, port: int) -> float | None:
    """The wait before a connect to ``address:port`` times out when that is the KMS port of a host
    with the lab fault ``kms_no_answer`` (its port drops packets, as a firewall that drops the SYN:
    the fault is kept in the world, as for the lab's own KMS clients); else None."""
    world = host.world
    for other in world.hosts.values():
        if str(other.spec.address) == address and other.name.lower() in world.kms_silent \
                and port == other.kms_effective_port():
            return 0.0 if world.in_advance else world.kms_silent[other.name.lower()]
    return None


def _receive(sock: socket.socket, op: t.Mapping[str, t.Any], timeout: float) -> dict[str, t.Any]:
    limit = int(op.get("receive_max", 4096))
    frame = op.get("frame_length")
    want, data = limit, b""
    out: dict[str, t.Any] = {"received": "", "receive_ms": None, "receive_error_code": None, "closed": False}
    sock.settimeout(timeout)
    start = time.monotonic()
    try:
        while len(data) < want:
            chunk = sock.recv(want - len(data))
            if not chunk:
                out["closed"] = True
                break
            data += chunk
            if frame and len(data) >= frame["offset"] + frame["size"]:
                fmt = "<H" if frame["size"] == 2 else "<I"
                (length,) = struct.unpack_from(fmt, data, frame["offset"])
                want = min(limit, max(int(length), len(data)))
    except OSError as exc:
        out["receive_error_code"] = _winsock(exc)
    out["receive_ms"] = round((time.monotonic() - start) * 1000, 1)
    out["received"] = base64.b64encode(data).decode("ascii")
    return out


def _targets(op: t.Mapping[str, t.Any], earlier: t.Sequence[t.Mapping[str, t.Any]]) -> tuple[str, list[tuple[str, int]]]:
    port = int(op.get("default_port", 1688))
    if "targets" in op:
        return "targets", [(str(x["host"]), int(x["port"])) for x in op["targets"]]
    ref = op.get("configured_from")
    if ref:
        name = str(_first_value(earlier, ref, str(ref["host_property"])) or "").strip()
        if name:
            configured = _first_value(earlier, ref, str(ref["port_property"]))
            return "configured", [(name, int(configured) if configured else port)]
    if "srv_from" in op:
        records = earlier[int(op["srv_from"])].get("records") or []
        return "srv", [(str(r["target"]), int(r["port"])) for r in records
                       if r.get("type") == "SRV" and r.get("section") == "answer"][:8]
    return "none", []


def tcp_exchange(host: WindowsHost, op: t.Mapping[str, t.Any],
                 earlier: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    connect_timeout = int(op.get("connect_timeout_ms", DEFAULT_TIMEOUT_MS)) / 1000
    receive_timeout = int(op.get("receive_timeout_ms", DEFAULT_TIMEOUT_MS)) / 1000
    source = str(host.spec.address)
    kind, targets = _targets(op, earlier)
    rows = []
    for name, port in targets:
        entry: dict[str, t.Any] = {"host": name, "port": port, "addresses": [], "dns_status": 0, "connected": False,
                                   "address": None, "error_code": None, "connect_ms": None, "check_ports": []}
        try:
            ipaddress.IPv4Address(name)
            entry["addresses"] = [name]
        except ValueError:
            status, records = _query(host, name, "A")
            entry["dns_status"], entry["addresses"] = status, [r["address"] for r in records]
        sock = None
        for address in entry["addresses"]:
            start = time.monotonic()
            silent = _silent_delay(host, address, port)
            if silent is not None:
                time.sleep(min(silent, connect_timeout))  # the SYN is never answered
                entry["error_code"] = WSAETIMEDOUT
                continue
            try:
                sock = _connect(source, address, port, connect_timeout)
            except OSError as exc:
                entry["error_code"] = _winsock(exc)
                continue
            entry.update(connected=True, address=address, error_code=None,
                         connect_ms=round((time.monotonic() - start) * 1000, 1))
            break
        if sock is not None:
            try:
                if op.get("send"):
                    sock.sendall(base64.b64decode(op["send"]))
                entry.update(_receive(sock, op, receive_timeout))
            except OSError as exc:
                entry["receive_error_code"] = _winsock(exc)
            finally:
                sock.close()
        elif entry["addresses"] and op.get("check_ports"):
            for check in op["check_ports"]:
                try:
                    _connect(source, entry["addresses"][0], int(check), connect_timeout).close()
                    entry["check_ports"].append({"port": int(check), "connected": True, "error_code": None})
                except OSError as exc:
                    entry["check_ports"].append({"port": int(check), "connected": False, "error_code": _winsock(exc)})
        rows.append(entry)
    return {"op": "tcp_exchange", "ok": True, "source": kind, "targets": rows}
