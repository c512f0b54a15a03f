# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``_vlmcs._tcp`` SRV records of a zone: validation, planning, and the Windows DNS (WMI) operations.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python, no Ansible and no network: :func:`desired_srv` validates the task's
options into a :class:`DesiredSrv`, :func:`plan_srv` compares it with the records
read from the server and returns a :class:`SrvPlan` (what to add, update, remove,
and the records after). Two transports execute a plan:

* RFC 2136 dynamic update from the control node (``_dns.py``);
* the Windows DNS Server WMI provider through the executor: :func:`wmi_read_operations`,
  :func:`parse_wmi_state` and :func:`wmi_plan_operations` build and read the
  ``cim_query`` / ``cim_invoke`` / ``cim_delete`` operations of
  docs/executor-protocol.md on ``MicrosoftDNS_SRVType`` in ``root/MicrosoftDNS``.

Domain facts (docs/reference/licensing-api.md):

* a KMS host publishes ``_vlmcs._tcp.<domain>`` SRV with priority 0, weight 0, its
  port and its FQDN; the manual values are 0/0/1688/FQDN [WSD-HOST], section 7;
* the TTL of auto-published records is not documented ([UNCONFIRMED], section 5),
  so the default TTL here (3600 s) is a choice, not Microsoft's value;
* stale records of a replaced host stay until deleted by hand or scavenged [SEED],
  which is what ``exclusive`` is for;
* clients honour priority and weight only with host caching off [WSD-DNS], section 5.

DNS rules: an RRset has one TTL (RFC 2181 section 5.2), so on an RFC 2136 server a
TTL change applies to every record at the owner name (``rrset_ttl=True``); Windows
DNS keeps a TTL per record and the WMI provider changes one record at a time.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import typing as t

#: The owner label pair KMS clients look up [WSD-DNS].
SERVICE_PREFIX = "_vlmcs._tcp."
#: Defaults of a manually created KMS SRV record [WSD-HOST].
DEFAULT_PORT = 1688
DEFAULT_PRIORITY = 0
DEFAULT_WEIGHT = 0
#: The collection's default TTL. Microsoft does not document the TTL of the records a
#: KMS host publishes ([UNCONFIRMED] in licensing-api.md section 5); one hour is the
#: usual zone default.
DEFAULT_TTL = 3600
#: RFC 2181 section 8: a TTL is an unsigned 31-bit number.
MAX_TTL = 2**31 - 1

#: TSIG algorithms accepted for ``tsig_algorithm`` (RFC 8945 section 6, RFC 4635).
TSIG_ALGORITHMS = ("hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")

#: WMI namespace and classes of the Windows DNS Server provider (licensing-api.md section 7).
WMI_NAMESPACE = "root/MicrosoftDNS"
WMI_SRV_CLASS = "MicrosoftDNS_SRVType"
#: The DNS server itself: its ``Name`` is "Fully qualified domain name (FQDN) or IP address of
#: the DNS Server" (MicrosoftDocs/win32 desktop-src/DNS/microsoftdns-server.md).
WMI_SERVER_CLASS = "MicrosoftDNS_Server"
WMI_ZONE_CLASS = "MicrosoftDNS_Zone"
#: Properties read from each MicrosoftDNS_SRVType instance (MicrosoftDNS_ResourceRecord + SRVType).
WMI_SRV_PROPERTIES = ("ContainerName", "OwnerName", "TTL", "Priority", "Weight", "Port", "SRVDomainName")

_HOST_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# Zone and owner labels may hold underscores (``_tcp``, ``_msdcs``); host names may not (RFC 952/1123).
_DNS_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class SrvValidationError(ValueError):
    """A task option is invalid. The message names the option and the value, never a secret."""


# ------------------------------------------------------------------------------------------ model


@dataclasses.dataclass(frozen=True)
class SrvRecord:
    """One SRV record at the owner name: ``priority weight port target`` and its TTL.

    ``target`` is lower case without the trailing dot. ``raw`` keeps the WMI instance
    values it was read from (Windows path), so that a ``Modify`` or ``cim_delete`` filter
    names exactly the strings Windows returned; it takes no part in comparisons.
    """

    target: str
    port: int
    priority: int
    weight: int
    ttl: int
    raw: t.Mapping[str, t.Any] | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def data(self) -> tuple[int, int, int, str]:
        """The RDATA as a tuple (priority, weight, port, target): what identifies the record in DNS."""
        return (self.priority, self.weight, self.port, self.target)

    def view(self) -> str:
        """``priority weight port target``: the form ``nslookup -type=srv`` users read, used in the diff."""
        return f"{self.priority} {self.weight} {self.port} {self.target}"

    def rdata_text(self) -> str:
        """The RDATA in zone-file syntax with an absolute target: ``0 0 1688 kms1.contoso.com.``."""
        return f"{self.priority} {self.weight} {self.port} {self.target}."

    def as_dict(self) -> dict[str, t.Any]:
        """The record as returned by the module (``target``, ``port``, ``priority``, ``weight``, ``ttl``)."""
        return {"target": self.target, "port": self.port, "priority": self.priority, "weight": self.weight,
                "ttl": self.ttl}


def sort_key(record: SrvRecord) -> tuple[int, int, str, int, int]:
    """Order records as clients try them (RFC 2782: priority first), then by weight and target."""
    return (record.priority, -record.weight, record.target, record.port, record.ttl)


@dataclasses.dataclass(frozen=True)
class DesiredSrv:
    """The validated task: which records should (not) exist at ``owner`` in ``zone``."""

    zone: str
    owner: str
    records: tuple[SrvRecord, ...]
    ttl: int
    exclusive: bool
    state: str


@dataclasses.dataclass(frozen=True)
class SrvUpdate:
    """A record whose port, priority, weight or TTL changes (same target)."""

    before: SrvRecord
    after: SrvRecord

    def as_dict(self) -> dict[str, t.Any]:
        return {"target": self.after.target, "before": self.before.as_dict(), "after": self.after.as_dict()}


@dataclasses.dataclass(frozen=True)
class SrvPlan:
    """What :func:`plan_srv` decided. ``after`` is what the server holds once the plan is applied."""

    before: tuple[SrvRecord, ...]
    after: tuple[SrvRecord, ...]
    add: tuple[SrvRecord, ...]
    remove: tuple[SrvRecord, ...]
    update: tuple[SrvUpdate, ...]

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove or self.update)

    def descriptions(self, owner: str) -> list[str]:
        """One line per change, phrased to follow ``Failed to`` / ``would``."""
        lines = [f"add SRV record '{r.view()}' (TTL {r.ttl}) at '{owner}'" for r in self.add]
        lines += [
            f"change SRV record '{u.before.view()}' (TTL {u.before.ttl}) to '{u.after.view()}' (TTL {u.after.ttl}) "
            f"at '{owner}'"
            for u in self.update
        ]
        lines += [f"remove SRV record '{r.view()}' at '{owner}'" for r in self.remove]
        return lines

    def diff(self, owner: str) -> dict[str, t.Any]:
        """The ``--diff`` view: one ``priority weight port target (TTL n)`` line per record, in client order.

        Text rather than lists, because Ansible's callbacks diff strings (and serialize only
        mappings); the TTL is on each line so that a TTL-only change shows as a changed line.
        """
        return {
            "before": diff_text(self.before),
            "after": diff_text(self.after),
            "before_header": f"{owner} SRV",
            "after_header": f"{owner} SRV",
        }

    def result(self) -> dict[str, t.Any]:
        """The module's change return values: ``before``, ``added``, ``removed``, ``updated``."""
        return {
            "before": [r.as_dict() for r in self.before],
            "added": [r.as_dict() for r in self.add],
            "removed": [r.as_dict() for r in self.remove],
            "updated": [u.as_dict() for u in self.update],
        }


def diff_text(records: t.Sequence[SrvRecord]) -> str:
    """``priority weight port target (TTL n)`` lines, each ending in a newline; empty for no records."""
    return "".join(f"{r.view()} (TTL {r.ttl})\n" for r in records)


# ------------------------------------------------------------------------------------- validation


def _check_labels(name: str, pattern: re.Pattern[str], what: str, value: str) -> None:
    if len(name) > 253:
        raise SrvValidationError(f"{what} '{value}' is not a valid DNS name: longer than 253 characters")
    for label in name.split("."):
        if not label:
            raise SrvValidationError(f"{what} '{value}' is not a valid DNS name: it has an empty label")
        if not pattern.match(label):
            kind = "letters, digits and hyphens" if pattern is _HOST_LABEL_RE else "letters, digits, '_' and '-'"
            raise SrvValidationError(
                f"{what} '{value}' is not a valid {'host' if pattern is _HOST_LABEL_RE else 'DNS'} name: "
                f"label '{label}' must be 1 to 63 {kind}, not starting or ending with '-'"
            )


def normalize_name(value: t.Any, what: str) -> str:
    """Validate a DNS name (zone, owner, key name); return it lower case without the trailing dot."""
    if not isinstance(value, str) or not value.strip():
        raise SrvValidationError(f"{what} must be a non-empty DNS name, got {value!r}")
    name = value.strip()
    norm = name[:-1] if name.endswith(".") else name
    _check_labels(norm, _DNS_LABEL_RE, what, name)
    return norm.lower()


def normalize_host(value: t.Any, what: str) -> str:
    """Validate a target host FQDN (RFC 1123 labels, at least two labels); return it normalized."""
    if not isinstance(value, str) or not value.strip():
        raise SrvValidationError(f"{what} must be a non-empty host FQDN, got {value!r}")
    name = value.strip()
    norm = name[:-1] if name.endswith(".") else name
    if "." not in norm:
        raise SrvValidationError(
            f"{what} '{name}' is not a fully qualified domain name: give the KMS host's FQDN, e.g. '{norm}.<domain>'"
        )
    _check_labels(norm, _HOST_LABEL_RE, what, name)
    return norm.lower()


def _check_range(value: t.Any, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SrvValidationError(f"{what} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise SrvValidationError(f"{what} {value} is out of range {low}..{high}")
    return value


def _opt(item: t.Mapping[str, t.Any], key: str, default: int) -> t.Any:
    value = item.get(key)
    return default if value is None else value


def in_zone(name: str, zone: str) -> bool:
    """True when ``name`` is ``zone`` or below it (both normalized)."""
    return name == zone or name.endswith("." + zone)


def desired_srv(params: t.Mapping[str, t.Any]) -> DesiredSrv:
    """Validate the task options ``zone``, ``name``, ``records``, ``ttl``, ``exclusive``, ``state``.

    Contract: returns normalized names (lower case, no trailing dot) and records with
    defaults filled in; raises :class:`SrvValidationError` naming the first bad value.
    Checks: DNS name syntax, targets are FQDNs and not the zone apex, a target is listed
    once, port 1..65535, priority and weight 0..65535, TTL 0..2147483647, the owner name
    starts with ``_vlmcs._tcp.`` and lies in the zone, ``exclusive`` only with ``present``.
    """
    zone = normalize_name(params.get("zone"), "zone")
    raw_name = params.get("name")
    if raw_name is None or raw_name == "":
        owner = SERVICE_PREFIX + zone
    else:
        owner = normalize_name(raw_name, "name")
        if not owner.startswith(SERVICE_PREFIX):
            raise SrvValidationError(
                f"name '{raw_name}' does not start with '{SERVICE_PREFIX}', the owner name KMS clients look up"
            )
        if not in_zone(owner, zone):
            raise SrvValidationError(f"name '{raw_name}' is not inside zone '{zone}'")
    ttl = _check_range(params.get("ttl", DEFAULT_TTL), 0, MAX_TTL, "ttl")
    state = params.get("state", "present")
    if state not in ("present", "absent"):
        raise SrvValidationError(f"state must be 'present' or 'absent', got {state!r}")
    exclusive = bool(params.get("exclusive", False))
    if exclusive and state == "absent":
        raise SrvValidationError(
            "exclusive=true applies to state=present only; with state=absent the listed targets are removed"
        )
    items = params.get("records") or []
    if not isinstance(items, (list, tuple)):
        raise SrvValidationError(f"records must be a list, got {type(items).__name__}")
    records: list[SrvRecord] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        where = f"records[{i}]"
        if not isinstance(item, t.Mapping):
            raise SrvValidationError(f"{where} must be a dict with a target, got {item!r}")
        target = normalize_host(item.get("target"), f"{where}.target")
        if target == zone:
            raise SrvValidationError(
                f"{where}.target '{item.get('target')}' is the zone apex '{zone}', not a KMS host"
            )
        if target in seen:
            raise SrvValidationError(
                f"{where}.target '{item.get('target')}' is listed twice (records[{seen[target]}] and {where}); "
                "a KMS host has one record"
            )
        seen[target] = i
        records.append(
            SrvRecord(
                target=target,
                port=_check_range(_opt(item, "port", DEFAULT_PORT), 1, 65535, f"{where}.port"),
                priority=_check_range(_opt(item, "priority", DEFAULT_PRIORITY), 0, 65535, f"{where}.priority"),
                weight=_check_range(_opt(item, "weight", DEFAULT_WEIGHT), 0, 65535, f"{where}.weight"),
                ttl=ttl,
            )
        )
    return DesiredSrv(zone=zone, owner=owner, records=tuple(records), ttl=ttl, exclusive=exclusive, state=state)


def validate_tsig(name: t.Any, secret: t.Any, algorithm: t.Any) -> tuple[str, str, str] | None:
    """Validate the TSIG options; return ``(key name, secret, algorithm)`` or None when no key is given.

    Both ``name`` and ``secret`` or neither. The secret must be base64 (what
    ``tsig-keygen`` and Windows print). Messages never contain the secret.
    """
    if not name and not secret:
        return None
    if not name or not secret:
        missing = "tsig_key_name" if not name else "tsig_key_secret"
        raise SrvValidationError(f"tsig_key_name and tsig_key_secret go together: {missing} is missing")
    key_name = normalize_name(name, "tsig_key_name")
    if algorithm not in TSIG_ALGORITHMS:
        raise SrvValidationError(f"tsig_algorithm must be one of {', '.join(TSIG_ALGORITHMS)}, got {algorithm!r}")
    if not isinstance(secret, str):
        raise SrvValidationError("tsig_key_secret must be a base64 string (the value is not shown)")
    text = "".join(secret.split())
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SrvValidationError(
            f"tsig_key_secret is not valid base64 ({len(text)} characters; the value is not shown)"
        ) from None
    if not raw:
        raise SrvValidationError("tsig_key_secret is empty after base64 decoding")
    return key_name, text, algorithm


def check_port(value: t.Any, what: str) -> int:
    """Validate a TCP/UDP port number (1..65535)."""
    return _check_range(value, 1, 65535, what)


# ---------------------------------------------------------------------------------------- planning


def plan_srv(desired: DesiredSrv, current: t.Sequence[SrvRecord], *, rrset_ttl: bool) -> SrvPlan:
    """Compare the desired records with the current ones and decide the changes.

    Rules:

    * a listed target ends with exactly one record: an existing record with the same
      data and TTL is kept; otherwise one of its records (the first in client order)
      is updated to the desired port/priority/weight/TTL and any other record of that
      target is removed; a target without a record is added;
    * ``exclusive``: records of targets that are not listed are removed (stale hosts);
      otherwise they are kept. When ``rrset_ttl`` (RFC 2136 servers: one TTL per RRset,
      RFC 2181 5.2) and a listed record stays, kept records take the desired TTL too,
      and are reported as updated;
    * ``state=absent``: every record of a listed target is removed, whatever its port,
      priority or weight; the rest is untouched.

    ``before`` and ``after`` are in client order (:func:`sort_key`).
    """
    before = tuple(sorted(current, key=sort_key))
    by_target: dict[str, list[SrvRecord]] = {}
    for rec in before:
        by_target.setdefault(rec.target, []).append(rec)

    add: list[SrvRecord] = []
    remove: list[SrvRecord] = []
    update: list[SrvUpdate] = []
    kept: list[SrvRecord] = []
    listed = {r.target for r in desired.records}

    if desired.state == "absent":
        for rec in before:
            (remove if rec.target in listed else kept).append(rec)
        return SrvPlan(before=before, after=tuple(sorted(kept, key=sort_key)), add=(), remove=tuple(remove),
                       update=())

    for want in desired.records:
        have = by_target.get(want.target, [])
        exact = next((r for r in have if r == want), None)
        if exact is not None:
            kept.append(exact)
            remove.extend(r for r in have if r is not exact)
        elif have:
            update.append(SrvUpdate(before=have[0], after=want))
            remove.extend(have[1:])
        else:
            add.append(want)

    for rec in before:
        if rec.target in listed:
            continue
        if desired.exclusive:
            remove.append(rec)
        elif rrset_ttl and desired.records and rec.ttl != desired.ttl:
            update.append(SrvUpdate(before=rec, after=dataclasses.replace(rec, ttl=desired.ttl, raw=None)))
        else:
            kept.append(rec)

    after = [*kept, *(u.after for u in update), *add]
    return SrvPlan(
        before=before,
        after=tuple(sorted(after, key=sort_key)),
        add=tuple(sorted(add, key=sort_key)),
        remove=tuple(sorted(remove, key=sort_key)),
        update=tuple(sorted(update, key=lambda u: sort_key(u.after))),
    )


# ------------------------------------------------------------------------- Windows DNS through WMI


def wql_string(value: str) -> str:
    """A WQL string literal: single quotes, with ``\\`` and ``'`` escaped by a backslash (WQL rules)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclasses.dataclass(frozen=True)
class WmiSrvState:
    """The records read through ``root/MicrosoftDNS``.

    ``zone_found`` is None when the zone query failed; ``error`` is ``(hresult, message)``
    of the first failed query (e.g. 0x8004100E when the DNS Server role is absent);
    ``server_name`` is the DNS server's own ``MicrosoftDNS_Server.Name`` (its FQDN), the
    ``DnsServerName`` a created record is given, or None when the server gave none.
    """

    zone_found: bool | None
    records: tuple[SrvRecord, ...]
    error: tuple[int | None, str | None] | None = None
    server_name: str | None = None


def wmi_read_operations(zone: str, owner: str) -> list[dict[str, t.Any]]:
    """The three read operations: the zone (does this server host it?), the SRV records at
    ``owner``, and the server's own name, which ``CreateInstanceFromPropertyData`` takes as
    ``DnsServerName`` ("FQDN or IP address of the DNS Server that contains this RR",
    MicrosoftDocs/win32 desktop-src/DNS/microsoftdns-srvtype-createinstancefrompropertydata.md),
    read in the same round trip.

    WQL compares strings case-insensitively, as DNS names compare.
    """
    return [
        {"op": "cim_query", "class": WMI_ZONE_CLASS, "namespace": WMI_NAMESPACE,
         "filter": f"Name = {wql_string(zone)}", "properties": ["Name"]},
        {"op": "cim_query", "class": WMI_SRV_CLASS, "namespace": WMI_NAMESPACE,
         "filter": f"ContainerName = {wql_string(zone)} AND OwnerName = {wql_string(owner)}",
         "properties": list(WMI_SRV_PROPERTIES)},
        {"op": "cim_query", "class": WMI_SERVER_CLASS, "namespace": WMI_NAMESPACE, "properties": ["Name"]},
    ]


def _strip_dot(value: t.Any) -> str:
    text = str(value or "").strip()
    return (text[:-1] if text.endswith(".") else text).lower()


def parse_wmi_state(results: t.Sequence[t.Mapping[str, t.Any]]) -> WmiSrvState:
    """Parse the results of :func:`wmi_read_operations` (raw executor result dicts, in order).

    ``SRVDomainName`` may come with or without the trailing dot and in any case; it is
    normalized for comparison and kept as read in ``raw`` for later filters.
    """
    zone_res, srv_res = results[0], results[1]
    for res in (zone_res, srv_res):
        if not res.get("ok"):
            hresult = res.get("hresult")
            return WmiSrvState(
                zone_found=None,
                records=(),
                error=(int(hresult) if isinstance(hresult, int) else None, res.get("error")),
            )
    records = []
    for inst in srv_res.get("instances") or []:
        records.append(
            SrvRecord(
                target=_strip_dot(inst.get("SRVDomainName")),
                port=int(inst.get("Port") or 0),
                priority=int(inst.get("Priority") or 0),
                weight=int(inst.get("Weight") or 0),
                ttl=int(inst.get("TTL") or 0),
                raw=dict(inst),
            )
        )
    server_name = None
    if len(results) > 2 and results[2].get("ok"):
        names = [str(i.get("Name") or "").strip() for i in results[2].get("instances") or []]
        server_name = next((n for n in names if n and n != "."), None)
    return WmiSrvState(zone_found=bool(zone_res.get("instances")), records=tuple(records), server_name=server_name)


def _wmi_record_filter(zone: str, record: SrvRecord) -> str:
    raw = record.raw or {}
    owner = str(raw.get("OwnerName", ""))
    target = str(raw.get("SRVDomainName", record.target))
    return (
        f"ContainerName = {wql_string(zone)} AND OwnerName = {wql_string(owner)} AND "
        f"SRVDomainName = {wql_string(target)} AND Port = {record.port} AND Priority = {record.priority} AND "
        f"Weight = {record.weight}"
    )


def wmi_plan_operations(
    desired: DesiredSrv, plan: SrvPlan, dns_server: str
) -> list[tuple[dict[str, t.Any], str]]:
    """The executor operations that apply ``plan`` on a Windows DNS server, each with its description.

    Order: additions, then updates (``Modify`` on the exact record read), then removals
    (``cim_delete`` of the exact record), so that clients never find the owner name
    empty while a host is being replaced; the executor stops at the first failure.
    ``dns_server`` is the ``DnsServerName`` argument: the server's FQDN or IP address, as
    Microsoft documents it (microsoftdns-srvtype-createinstancefrompropertydata.md), never ``.``.
    """
    ops: list[tuple[dict[str, t.Any], str]] = []
    for rec in plan.add:
        ops.append((
            {"op": "cim_invoke", "class": WMI_SRV_CLASS, "method": "CreateInstanceFromPropertyData",
             "namespace": WMI_NAMESPACE, "static": True,
             "arguments": {"DnsServerName": dns_server, "ContainerName": desired.zone,
                           "OwnerName": desired.owner, "TTL": rec.ttl, "Priority": rec.priority,
                           "Weight": rec.weight, "Port": rec.port, "SRVDomainName": rec.target + "."}},
            f"add SRV record '{rec.view()}' (TTL {rec.ttl}) at '{desired.owner}'",
        ))
    for upd in plan.update:
        ops.append((
            {"op": "cim_invoke", "class": WMI_SRV_CLASS, "method": "Modify", "namespace": WMI_NAMESPACE,
             "filter": _wmi_record_filter(desired.zone, upd.before),
             "arguments": {"TTL": upd.after.ttl, "Priority": upd.after.priority, "Weight": upd.after.weight,
                           "Port": upd.after.port}},
            f"change SRV record '{upd.before.view()}' (TTL {upd.before.ttl}) to '{upd.after.view()}' "
            f"(TTL {upd.after.ttl}) at '{desired.owner}'",
        ))
    for rec in plan.remove:
        ops.append((
            {"op": "cim_delete", "class": WMI_SRV_CLASS, "namespace": WMI_NAMESPACE,
             "filter": _wmi_record_filter(desired.zone, rec)},
            f"remove SRV record '{rec.view()}' at '{desired.owner}'",
        ))
    return ops
