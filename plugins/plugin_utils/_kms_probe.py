# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The kms_probe engine: the DCE/RPC bind the client sends, the batch, and the verdict.

For internal collection use only: the interface may change without notice.

Pure Python, no Ansible import. The controller builds every byte the client sends and
parses every byte it gets back; the executor only resolves names, connects and moves bytes
(``dns_query`` and ``tcp_exchange``, docs/executor-protocol.md). No activation request is
ever built: the probe stops after the RPC bind, so a KMS host counts nothing and changes
no counter.

The bind follows the connection-oriented DCE/RPC PDU formats of The Open Group's C706
("DCE 1.1: Remote Procedure Call"), chapter 12.6: the 16-byte common header
(``rpc_vers`` 5.0, ``PTYPE`` bind = 11, ``pfc_flags`` first+last fragment, the NDR
data representation label for little-endian ASCII IEEE ``10 00 00 00``, ``frag_length``,
``auth_length`` 0, ``call_id``), then ``max_xmit_frag``, ``max_recv_frag``,
``assoc_group_id`` and one presentation context: the KMS interface as abstract syntax and
NDR 2.0 (``8a885d04-1ceb-11c9-9fe8-08002b104860``, C706 appendix I) as transfer syntax.
UUIDs are encoded in NDR (little-endian) order. The answer is a ``bind_ack`` (PTYPE 12)
whose result list says whether the context was accepted, or a ``bind_nak`` (PTYPE 13).

The KMS interface UUID ``51c82175-844e-4750-b0d8-ec255555bc06`` version 1.0: Microsoft
documents only "anonymous RPC over TCP, port 1688" for KMS; the UUID is the one seen in
public captures of KMS traffic (Wireshark's DCE/RPC dissector shows it as the bound
interface) and in third-party KMS tooling. It is therefore marked UNCONFIRMED by Microsoft.
"""

from __future__ import annotations

import base64
import dataclasses
import struct
import typing as t
import uuid

#: The KMS RPC interface (see the module docstring for its source) and NDR 2.0 (C706 appendix I).
KMS_INTERFACE = uuid.UUID("51c82175-844e-4750-b0d8-ec255555bc06")
KMS_INTERFACE_VERSION = (1, 0)
NDR_TRANSFER_SYNTAX = uuid.UUID("8a885d04-1ceb-11c9-9fe8-08002b104860")
NDR_VERSION = (2, 0)

PTYPE_BIND, PTYPE_BIND_ACK, PTYPE_BIND_NAK = 11, 12, 13
PFC_FIRST_LAST = 0x03
DREP_LITTLE_ENDIAN = b"\x10\x00\x00\x00"
#: C706 12.6.3.1: every implementation accepts fragments of 1432 bytes; the bind proposes 5840,
#: what Windows clients propose.
MAX_FRAG = 5840
HEADER = struct.Struct("<BBBB4sHHI")
#: Where the PDU's total length sits in its header (frag_length, u16 little-endian): the
#: executor reads exactly one PDU with it.
FRAME_LENGTH = {"offset": 8, "size": 2}

#: p_cont_def_result_t and p_provider_reason_t (C706 12.6.3.1), and p_reject_reason_t.
RESULTS = {0: "acceptance", 1: "user_rejection", 2: "provider_rejection"}
PROVIDER_REASONS = {0: "reason_not_specified", 1: "abstract_syntax_not_supported",
                    2: "proposed_transfer_syntaxes_not_supported", 3: "local_limit_exceeded"}
REJECT_REASONS = {0: "reason_not_specified", 1: "temporary_congestion", 2: "local_limit_exceeded",
                  3: "called_paddr_unknown", 4: "protocol_version_not_supported",
                  5: "default_context_not_supported", 6: "user_data_not_readable", 7: "no_psap_available"}

DEFAULT_PORT = 1688
#: WinRM's ports (HTTP, HTTPS): a Windows host managed by Ansible answers on one of them, so a
#: connection there shows the host is up when its KMS port does not answer.
MANAGEMENT_PORTS = (5985, 5986)

# Winsock errors (winsock2.h / MicrosoftDocs "Windows Sockets Error Codes").
WSAECONNRESET = 10054
WSAETIMEDOUT = 10060
WSAECONNREFUSED = 10061
WSAEHOSTUNREACH = 10065
WSAENETUNREACH = 10051
SOCKET_ERRORS = {WSAECONNRESET: "reset", WSAETIMEDOUT: "timeout", WSAECONNREFUSED: "refused",
                 WSAEHOSTUNREACH: "unreachable", WSAENETUNREACH: "unreachable"}
# DNS status codes (winerror.h: DNS_ERROR_RCODE_* = 9000 + RCODE; DNS_INFO_NO_RECORDS).
DNS_ERROR_RCODE_SERVER_FAILURE = 9002
DNS_ERROR_RCODE_NAME_ERROR = 9003
DNS_INFO_NO_RECORDS = 9501
DNS_NOT_FOUND = (DNS_ERROR_RCODE_NAME_ERROR, DNS_INFO_NO_RECORDS)

#: Every verdict, with its next step (per KMS host and for the client).
NEXT_STEPS: dict[str, str] = {
    "ok": "the client can reach a KMS host: activate (activation module); if it still fails, its license "
          "status reason says why (a count below the threshold is 0xC004F038)",
    "no_srv_record": "publish the KMS host in DNS (kms_host dns_publishing, or kms_srv_record), or point the "
                     "client at a KMS host (kms_client)",
    "dns_failure": "check the client's DNS servers (they did not answer the _vlmcs._tcp query)",
    "no_kms_host": "point the client at a KMS host (kms_client), or join it to the domain whose DNS has the "
                   "_vlmcs._tcp record",
    "name_not_resolved": "correct or remove the SRV record (kms_srv_record) or the configured KMS host name "
                         "(kms_client): the name has no address in DNS",
    "host_down": "start the KMS host or restore the network path to it; meanwhile remove its SRV record "
                 "(kms_srv_record) so that clients stop trying it",
    "port_closed": "open the KMS port on the host (kms_firewall) to this client's network",
    "not_listening": "on the KMS host, start sppsvc (Start-Service sppsvc) and check it is an activated KMS "
                     "host (license_info); if it is not one, remove its SRV record or the client's setting",
    "sppsvc_stopped": "start the Software Protection service on the KMS host (Start-Service sppsvc)",
    "wrong_port": "use the port the KMS host listens on (kms_client port, or the SRV record's port)",
    "not_kms_host": "point the client at a KMS host (kms_client) or correct the SRV record (kms_srv_record): "
                    "this host is not one",
    "no_answer": "the KMS host accepted the connection but sent no bind_ack: restart sppsvc on it and check "
                 "for a filtering device on the path",
}


def build_bind(call_id: int = 1) -> bytes:
    """The DCE/RPC ``bind`` PDU for the KMS interface, NDR transfer syntax, one context (C706 12.6.4.3)."""
    body = struct.pack("<HHI", MAX_FRAG, MAX_FRAG, 0)  # max_xmit_frag, max_recv_frag, assoc_group_id (new)
    body += struct.pack("<BBH", 1, 0, 0)  # n_context_elem, reserved, reserved2
    body += struct.pack("<HBB", 0, 1, 0)  # p_cont_id, n_transfer_syn, reserved
    body += KMS_INTERFACE.bytes_le + struct.pack("<HH", *KMS_INTERFACE_VERSION)
    body += NDR_TRANSFER_SYNTAX.bytes_le + struct.pack("<HH", *NDR_VERSION)
    header = HEADER.pack(5, 0, PTYPE_BIND, PFC_FIRST_LAST, DREP_LITTLE_ENDIAN, HEADER.size + len(body), 0, call_id)
    return header + body


@dataclasses.dataclass(frozen=True)
class BindAnswer:
    """What came back for the bind: ``kind`` is ``accepted``, ``rejected`` (a bind_ack that accepts
    no context), ``nak`` (bind_nak), ``not_rpc`` (bytes that are not a DCE/RPC answer to the bind)
    or ``no_answer`` (nothing)."""

    kind: str
    detail: str
    port: str | None = None  # bind_ack's secondary address: the port the server says it listens on


def parse_answer(data: bytes, call_id: int = 1) -> BindAnswer:
    """Parse the server's answer to :func:`build_bind`. Never raises."""
    if not data:
        return BindAnswer("no_answer", "no byte came back")
    if len(data) < HEADER.size:
        return BindAnswer("not_rpc", f"{len(data)} bytes, shorter than a DCE/RPC header")
    vers, _minor, ptype, _flags, drep, frag_len, _auth, answer_call = HEADER.unpack_from(data)
    if vers != 5 or drep[0] & 0xF0 != 0x10 or frag_len > len(data) or frag_len < HEADER.size:
        return BindAnswer("not_rpc", f"the answer is not a little-endian DCE/RPC 5.x PDU (first bytes {data[:8].hex()})")
    if answer_call != call_id:
        return BindAnswer("not_rpc", f"the answer is for call {answer_call}, not {call_id}")
    body = data[HEADER.size:frag_len]
    try:
        if ptype == PTYPE_BIND_NAK:
            (reason,) = struct.unpack_from("<H", body, 0)
            return BindAnswer("nak", f"bind_nak: {REJECT_REASONS.get(reason, reason)}")
        if ptype != PTYPE_BIND_ACK:
            return BindAnswer("not_rpc", f"DCE/RPC PDU type {ptype} instead of bind_ack")
        addr_len = struct.unpack_from("<H", body, 8)[0]
        port = body[10:10 + addr_len].rstrip(b"\x00").decode("ascii", "replace")
        offset = 10 + addr_len
        offset += -(HEADER.size + offset) % 4  # the result list is 4-aligned in the PDU (C706 12.6.4.4)
        n_results = body[offset]
        results = [struct.unpack_from("<HH", body, offset + 4 + 24 * i) for i in range(n_results)]
    except (struct.error, IndexError):
        return BindAnswer("not_rpc", "a truncated bind_ack")
    if any(result == 0 for result, _reason in results):
        return BindAnswer("accepted", "bind_ack: the KMS interface was accepted", port or None)
    why = ", ".join(f"{RESULTS.get(r, r)} ({PROVIDER_REASONS.get(reason, reason)})" for r, reason in results)
    return BindAnswer("rejected", f"bind_ack without the KMS interface: {why or 'no result'}", port or None)


# ------------------------------------------------------------------------------ the batch

SERVICE_QUERY = 0
COMPUTER_QUERY = 1
SRV_QUERY = 2
EXCHANGE = 3


def operations(*, domain: str | None, kms_host: str | None, kms_port: int | None, check_ports: t.Sequence[int],
               connect_timeout_ms: int, receive_timeout_ms: int) -> list[dict[str, t.Any]]:
    """The one batch of the probe (all read operations):

    0. ``SoftwareLicensingService``: the KMS host, port and lookup domain set on the client;
    1. ``Win32_ComputerSystem``: the client's domain;
    2. ``dns_query`` SRV ``_vlmcs._tcp.<domain>``: ``domain`` when given, else the client's lookup
       domain, else its computer domain (what a Windows KMS client queries [WSD-DNS]);
    3. ``tcp_exchange``: to ``kms_host`` when given, else the host set on the client, else each SRV
       target; sends :func:`build_bind` and reads one PDU; connects to ``check_ports`` when the KMS
       port does not answer.
    """
    ops: list[dict[str, t.Any]] = [
        {"op": "cim_query", "class": "SoftwareLicensingService"},
        {"op": "cim_query", "class": "Win32_ComputerSystem", "properties": ["Domain", "PartOfDomain", "DNSHostName"]},
    ]
    srv: dict[str, t.Any] = {"op": "dns_query", "type": "SRV"}
    if domain:
        srv["name"] = f"_vlmcs._tcp.{domain.strip('.')}"
    else:
        srv["name_from"] = {"prefix": "_vlmcs._tcp.", "first_of": [
            {"result": SERVICE_QUERY, "property": "KeyManagementServiceLookupDomain"},
            {"result": COMPUTER_QUERY, "property": "Domain"}]}
    ops.append(srv)
    exchange: dict[str, t.Any] = {
        "op": "tcp_exchange", "send": base64.b64encode(build_bind()).decode("ascii"),
        "frame_length": dict(FRAME_LENGTH), "default_port": DEFAULT_PORT, "receive_max": 4096,
        "connect_timeout_ms": connect_timeout_ms, "receive_timeout_ms": receive_timeout_ms,
        "check_ports": list(check_ports),
    }
    if kms_host:
        exchange["targets"] = [{"host": kms_host, "port": kms_port or DEFAULT_PORT}]
    else:
        exchange["configured_from"] = {"result": SERVICE_QUERY, "host_property": "KeyManagementServiceMachine",
                                       "port_property": "KeyManagementServicePort"}
        exchange["srv_from"] = SRV_QUERY
    ops.append(exchange)
    return ops


# ------------------------------------------------------------------------------ the verdict

#: A KMS host's own state as this run knows it (from its license_info result), by inventory name.
StateLookup = t.Callable[[str], "t.Mapping[str, t.Any] | None"]


def _kms_host_facts(state: t.Mapping[str, t.Any] | None) -> tuple[bool | None, set[int]]:
    """(is an activated KMS host?, the ports it listens on) from a license_info result; (None, {})
    when unknown."""
    if not isinstance(state, t.Mapping) or "products" not in state:
        return None, set()
    hosts = [p for p in state.get("products") or [] if p.get("channel") == "kms_host" and p.get("activated")]
    ports = {int((p.get("kms_host") or {}).get("listening_port") or DEFAULT_PORT) for p in hosts}
    return bool(hosts), ports


def _short(name: str) -> str:
    return name.strip().rstrip(".").split(".", 1)[0].lower()


def judge_target(target: t.Mapping[str, t.Any], state: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """One KMS host as the client saw it: the row of RV(kms_hosts) with its verdict."""
    name, port = str(target.get("host") or ""), int(target.get("port") or DEFAULT_PORT)
    addresses = list(target.get("addresses") or [])
    row: dict[str, t.Any] = {
        "name": name, "port": port, "priority": target.get("priority"), "weight": target.get("weight"),
        "addresses": addresses, "resolved": bool(addresses), "dns_status": target.get("dns_status"),
        "tcp_reachable": bool(target.get("connected")), "tcp_error": None, "host_up": None,
        "rpc_bind": None, "rpc_detail": None, "latency_ms": None, "error": None,
    }
    is_kms, kms_ports = _kms_host_facts(state)

    def done(verdict: str, message: str) -> dict[str, t.Any]:
        row.update(verdict=verdict, message=message, next_step=NEXT_STEPS[verdict])
        if verdict != "ok":
            row["error"] = message
        return row

    if not addresses:
        return done("name_not_resolved", f"{name} does not resolve in DNS (DNS status {target.get('dns_status')})")
    if not target.get("connected"):
        code = target.get("error_code")
        row["tcp_error"] = SOCKET_ERRORS.get(int(code or 0), f"winsock {code}")
        checks = list(target.get("check_ports") or [])
        up = [c["port"] for c in checks if c.get("connected")]
        row["host_up"] = bool(up) if checks else None
        where = f"port {port} of {name} ({addresses[0]})"
        if checks and not up:
            tried = ", ".join(str(c["port"]) for c in checks)
            return done("host_down", f"nothing answers on {where} ({row['tcp_error']}) nor on ports {tried}: "
                                     "the host is down or unreachable")
        if row["tcp_error"] == "refused":
            if is_kms is False:
                return done("not_kms_host", f"nothing listens on {where}, and its licensing state shows no "
                                            "activated KMS host product: it is not a KMS host")
            if is_kms and port not in kms_ports:
                ports = ", ".join(str(p) for p in sorted(kms_ports))
                return done("wrong_port", f"nothing listens on {where}: the KMS host listens on {ports}")
            if is_kms:
                return done("sppsvc_stopped", f"nothing listens on {where} though it is an activated KMS host "
                                              "listening on that port: its Software Protection service (sppsvc) "
                                              "is not running")
            return done("not_listening", f"nothing listens on {where} (connection refused, the host is up): "
                                         "sppsvc is stopped there, or it is not a KMS host")
        how = {"timeout": "not answered (timed out)", "reset": "reset", "unreachable": "unreachable"}.get(
            row["tcp_error"], row["tcp_error"])
        return done("port_closed", f"the connection to {where} was {how} while the host answers on "
                                   f"port {up[0] if up else '?'}: a firewall blocks the KMS port")
    row["latency_ms"] = round(float(target.get("connect_ms") or 0) + float(target.get("receive_ms") or 0), 1)
    received = base64.b64decode(target.get("received") or "")
    answer = parse_answer(received)
    if not received and (target.get("receive_error_code") == WSAECONNRESET or target.get("closed")):
        row["rpc_bind"] = "reset"
        return done("port_closed", f"port {port} of {name} accepted the connection, then reset it before any "
                                   "answer: a firewall rule (its remote address scope) refuses this client")
    row["rpc_bind"], row["rpc_detail"] = answer.kind, answer.detail
    if answer.kind == "accepted":
        return done("ok", f"{name}:{port} answers as a KMS host ({answer.detail}, {row['latency_ms']} ms)")
    if answer.kind == "no_answer":
        return done("no_answer", f"{name}:{port} accepted the connection but sent no bind_ack within the timeout")
    return done("not_kms_host", f"{name}:{port} answers, but not as a KMS host: {answer.detail}")


def judge(results: t.Sequence[t.Mapping[str, t.Any]], lookup: StateLookup) -> dict[str, t.Any]:
    """The module result from the batch's results (see the module's RETURN)."""
    service = ((results[SERVICE_QUERY].get("instances") or [{}]) + [{}])[0] if results[SERVICE_QUERY].get("ok") else {}
    computer = ((results[COMPUTER_QUERY].get("instances") or [{}]) + [{}])[0] if results[COMPUTER_QUERY].get("ok") else {}
    srv, exchange = results[SRV_QUERY], results[EXCHANGE]
    out: dict[str, t.Any] = {
        "domain": computer.get("Domain") if computer.get("PartOfDomain") else None,
        "configured_host": service.get("KeyManagementServiceMachine") or None,
        "configured_port": service.get("KeyManagementServicePort") or None,
        "lookup_domain": service.get("KeyManagementServiceLookupDomain") or None,
        "srv_name": srv.get("name"), "srv_status": srv.get("status"),
        "srv_records": [{k: r.get(k) for k in ("target", "port", "priority", "weight")}
                        for r in srv.get("records") or [] if r.get("type") == "SRV" and r.get("section") == "answer"],
        "source": exchange.get("source"),
    }
    targets = [t_ for t_ in exchange.get("targets") or [] if isinstance(t_, t.Mapping)]
    by_srv = {(str(r["target"]).lower().rstrip("."), r["port"]): r for r in out["srv_records"]}
    rows = []
    for target in targets:
        rec = by_srv.get((str(target.get("host") or "").lower().rstrip("."), target.get("port"))) or {}
        rows.append(judge_target({**target, "priority": rec.get("priority"), "weight": rec.get("weight")},
                                 lookup(str(target.get("host") or ""))))
    out["kms_hosts"] = rows
    if not exchange.get("ok", True) or not srv.get("ok", True):
        failed = exchange if not exchange.get("ok", True) else srv
        verdict, message = "probe_failed", f"the probe failed on the client: {failed.get('error')}"
        out.update(verdict=verdict, message=message, next_step=None)
        return out
    ok = next((r for r in rows if r["verdict"] == "ok"), None)
    if ok:
        verdict, message = "ok", ok["message"]
    elif rows:
        first = rows[0]
        verdict = first["verdict"]
        message = first["message"] if len(rows) == 1 else (
            f"no KMS host answered; {len(rows)} tried, the first: {first['message']}")
    elif out["source"] == "srv" or (out["source"] == "none" and srv.get("name")):
        if srv.get("status") in DNS_NOT_FOUND:
            verdict, message = "no_srv_record", (f"DNS has no {srv.get('name')} record (DNS status {srv.get('status')}): "
                                                 "the client cannot find a KMS host (0x8007232B)")
        elif srv.get("status"):
            verdict, message = "dns_failure", (f"the DNS query for {srv.get('name')} failed (DNS status "
                                               f"{srv.get('status')}): 0x8007232A")
        else:
            verdict, message = "no_srv_record", f"{srv.get('name')} lists no KMS host"
    else:
        verdict, message = "no_kms_host", "the client has no KMS host set and no domain to look one up in"
    out.update(verdict=verdict, message=message, next_step=NEXT_STEPS[verdict])
    return out


def short_name(name: str) -> str:
    """The inventory name a KMS host's DNS name stands for (its first label), as fleet_summary matches it."""
    return _short(name)
