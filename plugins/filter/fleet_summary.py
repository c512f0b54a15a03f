# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``fleet_summary`` filter: many ``license_info`` results -> one fleet view.

Pure Python over the documented return values of
``winops.volume_activation.license_info``; no WinRM, no Ansible state. The only
collection code it uses is the HRESULT table (``plugin_utils/_errors.py``), so a reason
code that ``license_info`` did not explain (an activation outcome, say) is still shown
as ``0xC004F038 (SL_E_VL_NOT_ENOUGH_COUNT): ...``.
"""

from __future__ import annotations

import math
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _errors

DOCUMENTATION = r"""
---
name: fleet_summary
short_description: Summarise the volume licensing state of a fleet from license_info results
version_added: 0.1.0
description:
  - Takes the registered results of M(winops.volume_activation.license_info), one per host,
    and returns the fleet at a glance, as data and as lines of text to print with
    M(ansible.builtin.debug).
  - Per host, the Windows and Office license status, the grace left, and the KMS host that
    activated each product.
  - Per KMS host product, the current count against the count it needs before it activates
    clients (25 for Windows client operating systems, 5 for Windows Server and volume Office).
  - Client machine IDs (CMIDs) that several hosts share, that is machines cloned without
    rearm, which a KMS host counts only once.
  - Every product that is not activated, and every host whose result is missing, failed or
    unreachable, with the reason in words.
  - Given the C(_vlmcs._tcp) SRV records of the domain (O(srv_records)), each record checked
    against the fleet, stale records (a target that is no longer an activated KMS host, or a port
    its KMS host does not listen on), and publishing KMS hosts missing from DNS.
  - Pure Python on the controller; runs no module.
positional: _input
options:
  _input:
    description:
      - A mapping of inventory host name to that host's registered C(license_info) result.
      - A result that failed or is unreachable is reported as a problem of that host.
      - Hosts listed in O(hosts) that are missing from the mapping are reported as having
        no result.
      - C(hostvars) may be given directly together with O(hosts) and O(key).
    type: dict
    required: true
  hosts:
    description:
      - The hosts to summarise, in this order. Defaults to every key of the input, sorted.
    type: list
    elements: str
  key:
    description:
      - When given, each value of the input is a mapping (such as C(hostvars[host])) and the
        C(license_info) result is its item O(key).
      - A dotted name (C(volume_activation_host_result.license_info)) reads a key of a key.
      - A list of names is tried in order; the first that holds a C(license_info) result is used.
        A step that is a failed, skipped or unreachable task result does not count, so a report
        reuses what the host-level module returned and falls back to its own C(license_info) read.
        When none holds one, the last name's value is reported (such as an unreachable host).
    type: raw
  activation:
    description:
      - Optional per-host activation outcomes to show beside the state, a mapping of host
        name to a list of dicts with C(outcome), C(message) and the product as C(family)
        (C(windows), C(office2016)), C(product) or C(name), such as the C(products) that
        M(winops.volume_activation.activation) returns and the
        C(winops.volume_activation.kms_activation) role registers in C(volume_activation_host_result.activation.products).
    type: dict
    default: {}
  srv_records:
    description:
      - Optional SRV records to check against the fleet, as the
        R(kms_srv_records lookup,ansible_collections.winops.volume_activation.kms_srv_records_lookup)
        returns them, dicts with C(target), C(port), C(priority), C(weight), C(zone) and C(addresses).
      - A record's target is matched to an inventory host by its first DNS label (C(kms01.corp.example.com)
        is the inventory host C(kms01)), as KMS host names are matched elsewhere in the summary.
      - When omitted, DNS is not checked and the RV(_value.srv_records) list is empty.
    type: list
    elements: dict
author:
  - winops.volume_activation contributors
"""

EXAMPLES = r"""
- name: Read every host
  winops.volume_activation.license_info:
  register: activation_report_info

- name: Print the fleet summary
  ansible.builtin.debug:
    msg: "{{ (hostvars | winops.volume_activation.fleet_summary(hosts=ansible_play_hosts_all,
             key='activation_report_info')).lines }}"
  run_once: true

- name: Fail when any Windows is not activated
  ansible.builtin.assert:
    that: summary.totals.windows_activated == summary.totals.windows_total
  vars:
    summary: "{{ {'ws01': ws01_info, 'ws02': ws02_info} | winops.volume_activation.fleet_summary }}"
"""

RETURN = r"""
_value:
  description: The fleet summary.
  type: dict
  contains:
    hosts:
      description:
        - One entry per host, in the order of O(hosts).
        - C(windows) and each item of C(office) hold C(name), C(activation_id), C(version), C(family),
          C(status), C(activated), C(channel), C(grace_days), C(grace_expires), C(activated_by) (the
          inventory name of the KMS host that activated the product, or its DNS name when it is not in
          the fleet; C(Active Directory (<object name>)) for a product activated from an Active Directory
          activation object), C(kms_host_used) (the KMS host the client is configured with or discovered, as
          C(name:port)), C(partial_product_key) (the last five characters Windows stores, never more),
          C(reason) (the failure explained), C(reason_code) (its C(0xC004F038) form) and C(next_step).
      type: list
      elements: dict
      sample:
        - host: eng01
          ok: true
          error: null
          os: Microsoft Windows 11 Enterprise
          windows: {name: "Windows(R), Enterprise edition", status: licensed, activated: true,
                    channel: kms_client, grace_days: 180, grace_expires: "2027-04-30T09:00:00+00:00",
                    activated_by: kms01, kms_host_used: "kms01.corp.example.com:1688",
                    partial_product_key: 3V66T, reason: null, reason_code: null, next_step: null}
          office: []
          is_kms_host: false
          cmid: 7c6d1a2b-0f2e-4a41-9e33-3a0a51e5e1c4
          ospp_cmid: null
          outcomes: []
    kms_hosts:
      description:
        - Every KMS host product in the fleet with its count against the threshold.
        - C(in_dns) tells whether a record of O(srv_records) names the host (null without O(srv_records)).
        - C(clients) lists the hosts whose product this KMS host product counted. The KMS host's extended PID
          that the client saw names the host product; without it, the host product of the same Office
          version (else the oldest newer one of the family) is taken.
      type: list
      elements: dict
      sample:
        - host: kms01
          product: "Windows(R), ServerStandard edition"
          activation_id: 00091344-1ea4-4f37-b789-01750ba6988c
          family: windows
          office_version: null
          activated: true
          current_count: 29
          required_count: 25
          threshold_met: true
          clients: [eng01, eng02]
          in_dns: true
    clones:
      description: CMIDs shared by more than one host, C(source) is C(spp) or C(ospp).
      type: list
      elements: dict
      sample:
        - {cmid: 7c6d1a2b-0f2e-4a41-9e33-3a0a51e5e1c4, source: spp, hosts: [img01, img02]}
    srv_records:
      description:
        - Each record of O(srv_records) with C(host) (the inventory host it names, or null),
          C(status) and C(message).
        - C(status) is C(ok) (an activated KMS host listening on that port), C(stale) (the target
          does not resolve in DNS, or is not an activated KMS host, or listens on another port),
          C(unread) (the host's state was not read) or C(outside) (the target resolves but is not a
          host of this inventory, so it cannot be checked here).
        - C(addresses) as the lookup gave them (an empty list means the target does not resolve).
      type: list
      elements: dict
      sample:
        - {zone: corp.example.com, target: kms-old.corp.example.com, port: 1688, priority: 10, weight: 0,
           host: null, addresses: [], status: stale,
           message: "SRV record '10 0 1688 kms-old.corp.example.com' names a host that does not exist in DNS ..."}
    problems:
      description:
        - Every host or product that is not activated, or whose result is missing, with the reason.
        - Each problem has C(next_step), what to do about it.
        - With O(srv_records), also each stale SRV record (C(status) C(stale_srv_record), C(host) the
          inventory host it names or else its target) and each publishing KMS host that no record names
          (C(status) C(not_in_dns)).
      type: list
      elements: dict
      sample:
        - {host: acct01, product: "Office 14, OfficeProPlus-KMS_Client edition", status: initial_grace,
           message: "not activated (initial_grace, 30 days of grace left)",
           next_step: "activate the product (activation module, or the kms_activation role); ..."}
    totals:
      description: Counts over the fleet.
      type: dict
      sample: {hosts: 32, reachable: 32, windows_total: 32, windows_activated: 32, office_total: 19,
               office_activated: 19, kms_host_products: 3, clones: 1, srv_records: 2, stale_srv_records: 0,
               problems: 0}
    activation_paths:
      description:
        - Which hosts activate their KMS client products through Active Directory and which still need a KMS
          host (C(active_directory), C(kms)), each entry with C(host) and C(products), the names of its KMS
          client products with a key on that path (RV(winops.volume_activation.license_info#module:products[].activated_by)).
        - A product counts as needing a KMS host when it was not activated through Active Directory - Windows 7,
          Office 2010, Office under OSPP, computers outside the domain, or no matching activation object.
      type: dict
      version_added: 0.1.0
      sample:
        active_directory: [{host: ws01, products: ["Windows(R), Enterprise edition"]}]
        kms: [{host: w701, products: ["Windows(R) 7, Enterprise edition", "Office 14, OfficeProPlus-KMS_Client edition"]}]
    lines:
      description: The summary as lines of text, for M(ansible.builtin.debug) C(msg).
      type: list
      elements: str
"""

MINUTES_PER_DAY = 1440
#: The KMS port when the host reports none [WSD-HOST].
DEFAULT_KMS_PORT = 1688


def _as_map(value: t.Any, what: str) -> t.Mapping[str, t.Any]:
    if not isinstance(value, t.Mapping):
        raise AnsibleFilterError(f"fleet_summary: {what} must be a mapping, got {type(value).__name__}")
    return value


def grace_days(minutes: t.Any) -> int | None:
    """Days of grace left, rounded up as slmgr.vbs rounds them [SLMGR10]; None when unknown or 0."""
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
        return None
    return math.ceil(minutes / MINUTES_PER_DAY)


def _short(name: str | None) -> str:
    return (name or "").split(".", 1)[0].lower()


def _reason(product: t.Mapping[str, t.Any]) -> str | None:
    """The explained LicenseStatusReason of a product, when it is a failure code."""
    reason = product.get("license_status_reason")
    if not isinstance(reason, t.Mapping) or reason.get("code") is None:
        return None
    code = int(reason["code"])
    if not _errors.is_failure(code):
        return None  # informational, e.g. 0x4004F00C "in grace": the status says it already
    return str(reason.get("message") or _errors.explain(code, reason.get("windows_message")))


class _Fleet:
    """Index of the KMS host products of the fleet, to name the host (and the host product) that
    activated a client."""

    def __init__(self, results: t.Mapping[str, t.Mapping[str, t.Any]]) -> None:
        #: extended PID of a KMS host product -> (inventory host, the product's activation ID)
        self.by_pid: dict[str, tuple[str, str]] = {}
        #: inventory host -> its KMS host products as (family, office_version, activation ID)
        self.products_of: dict[str, list[tuple[str | None, str | None, str]]] = {}
        self.by_short: dict[str, str] = {host.lower(): host for host in results}
        for host, res in results.items():
            for p in res.get("products") or []:
                if p.get("channel") == "kms_host" or p.get("kms_host"):
                    ident = str(p.get("activation_id") or p.get("name"))
                    self.products_of.setdefault(host, []).append((p.get("family"), p.get("office_version"), ident))
                    if p.get("product_key_id"):
                        self.by_pid[str(p["product_key_id"]).lower()] = (host, ident)

    def activated_by(self, product: t.Mapping[str, t.Any]) -> str | None:
        """The inventory name of the KMS host that activated ``product``, or its DNS name.

        The KMS host's extended PID as the client saw it (``KeyManagementServiceProductKeyID``)
        names the host key that answered; it is matched against the fleet's KMS host
        products first, then the DNS name (registered, else discovered) by its first label.
        """
        if not product.get("activated") or product.get("channel") != "kms_client":
            return None
        if product.get("activated_by") == "ad":  # license_info: from an Active Directory activation object
            return f"Active Directory ({(product.get('ad_activation') or {}).get('object_name') or '?'})"
        client = product.get("kms_client") or {}
        pid = client.get("kms_host_pid")
        if pid and str(pid).lower() in self.by_pid:
            return self.by_pid[str(pid).lower()][0]
        name = client.get("configured_host") or client.get("discovered_host")
        if not name:
            return None
        return self.by_short.get(_short(name), str(name))

    def activated_by_product(self, product: t.Mapping[str, t.Any], host: str | None) -> str | None:
        """The activation ID of the KMS host product of ``host`` that counted ``product``.

        The extended PID names it exactly. Without one (an older client, or a host found by name),
        the host product of the same family and Office version is taken, else the oldest one of the
        family that is newer than the client (an Office LTSC 2021 host key also activates Office
        2016 and 2019 [WSD-OFFICE-KMS]), else the host's only product of that family.
        """
        client = product.get("kms_client") or {}
        pid = str(client.get("kms_host_pid") or "").lower()
        if pid in self.by_pid:
            return self.by_pid[pid][1]
        if host is None:
            return None
        family, version = product.get("family"), product.get("office_version")
        same = [(v, i) for f, v, i in self.products_of.get(host, []) if f == family]
        exact = [i for v, i in same if v == version]
        if exact:
            return exact[0]
        newer = sorted((str(v), i) for v, i in same if v and version and str(v) > str(version))
        if newer:
            return newer[0][1]
        return same[0][1] if len(same) == 1 else None


def _reason_code(product: t.Mapping[str, t.Any]) -> str | None:
    """The ``0xC004F038`` form of a failure LicenseStatusReason, else None."""
    reason = product.get("license_status_reason")
    if not isinstance(reason, t.Mapping) or reason.get("code") is None or not _errors.is_failure(int(reason["code"])):
        return None
    return _errors.hex_code(int(reason["code"]))


def _remedy(product: t.Mapping[str, t.Any]) -> str | None:
    """What to do about a failure LicenseStatusReason: the reason's remedy, else the table's."""
    reason = product.get("license_status_reason")
    if not isinstance(reason, t.Mapping) or reason.get("code") is None or not _errors.is_failure(int(reason["code"])):
        return None
    if reason.get("remedy"):
        return str(reason["remedy"])
    info = _errors.lookup(int(reason["code"]))
    return info.remedy if info else None


def _kms_host_used(product: t.Mapping[str, t.Any]) -> str | None:
    """The KMS host a KMS client product uses: the configured one, else the one it discovered
    (``host:port`` when the port is known), else None."""
    client = product.get("kms_client") or {}
    for name_key, port_key in (("configured_host", "configured_port"), ("discovered_host", "discovered_port")):
        if client.get(name_key):
            port = client.get(port_key)
            return f"{client[name_key]}:{port}" if port else str(client[name_key])
    return None


#: Next steps of the problems that have no HRESULT.
NEXT_STEPS: dict[str, str] = {
    "no_result": "check the host's WinRM connection (ansible -m ansible.windows.win_ping) and run the report again",
    "kms_host_not_activated": "activate the KMS host key (kms_host / the kms_server role); clients get 0xC004F041 "
                              "until then",
    "not_activated": "activate the product (activation module, or the kms_activation role); run kms_probe on the "
                     "host to see whether it can reach a KMS host",
}


def _product_view(product: t.Mapping[str, t.Any] | None, fleet: _Fleet, name: str | None = None,
                  status: str | None = None) -> dict[str, t.Any]:
    p = product or {}
    return {
        "name": p.get("name", name),
        "activation_id": p.get("activation_id"),
        "version": p.get("office_version"),
        "family": p.get("family"),
        "status": p.get("license_status", status),
        "activated": bool(p.get("activated", status == "licensed")),
        "channel": p.get("channel"),
        "grace_days": grace_days(p.get("grace_remaining_minutes")),
        "grace_expires": p.get("grace_expires"),
        "activated_by": fleet.activated_by(p) if product else None,
        "kms_host_used": _kms_host_used(p),
        "partial_product_key": p.get("partial_product_key"),
        "reason": _reason(p) if product else None,
        "reason_code": _reason_code(p),
        "next_step": _remedy(p),
    }


def _not_activated_message(view: t.Mapping[str, t.Any]) -> str:
    parts = [str(view["status"] or "unknown")]
    if view["grace_days"]:
        parts.append(f"{view['grace_days']} days of grace left")
    text = f"not activated ({', '.join(parts)})"
    if view["reason"]:
        text += f": {view['reason']}"
    return text


def _error_text(res: t.Mapping[str, t.Any] | None) -> str | None:
    if res is None:
        return "no license_info result (the host was not read in this run)"
    if res.get("unreachable"):
        return f"unreachable: {res.get('msg', 'no message')}"
    if res.get("failed"):
        return f"license_info failed: {res.get('msg', 'no message')}"
    if res.get("skipped"):
        return "license_info was skipped on this host"
    if "products" not in res:
        return "the value is not a license_info result (no 'products')"
    return None


SrvCheck = tuple[list[dict[str, t.Any]], list[dict[str, t.Any]]]


def _check_srv(records: t.Sequence[t.Mapping[str, t.Any]], kms_hosts: list[dict[str, t.Any]],
               order: t.Sequence[str], good: t.Mapping[str, t.Any]) -> SrvCheck:
    """Each SRV record against the fleet, and the problems: stale records, publishing KMS hosts
    that no record names. Sets ``in_dns`` on the ``kms_hosts`` entries."""
    by_short = {h.lower(): h for h in order}
    serving: dict[str, set[int]] = {}  # host -> ports of its activated, enabled KMS products
    for k in kms_hosts:
        if k["activated"] and k["enabled"]:
            serving.setdefault(k["host"], set()).add(int(k["listening_port"] or DEFAULT_KMS_PORT))
    rows: list[dict[str, t.Any]] = []
    problems: list[dict[str, t.Any]] = []
    named: set[str] = set()
    for rec in records:
        target = str(rec.get("target") or "").rstrip(".").lower()
        port = rec.get("port")
        host = by_short.get(_short(target))
        row = {"zone": rec.get("zone"), "target": target, "port": port, "priority": rec.get("priority"),
               "weight": rec.get("weight"), "host": host}
        addresses = rec.get("addresses")
        row["addresses"] = addresses
        if addresses == []:
            row.update(status="stale", next_step="remove the record (kms_srv_record state=absent)", message=(
                f"SRV record '{rec.get('priority')} {rec.get('weight')} {port} {target}' names a host that does not "
                "exist in DNS (no address): clients that pick it fail over to the next record after a delay; remove "
                "the record (kms_srv_record state=absent)"))
        elif host is None:
            row.update(status="outside", message=f"{target} is not a host of this inventory: not checked")
        elif host not in good:
            row.update(status="unread", message=f"{target} is the inventory host {host}, whose state was not read")
        elif host not in serving:
            row.update(status="stale", next_step=(
                "remove the record (kms_srv_record state=absent) or make the host a KMS host again"), message=(
                f"SRV record '{rec.get('priority')} {rec.get('weight')} {port} {target}' names {host}, which is not "
                "an activated KMS host: clients that pick it wait for it to fail, then try the next record; "
                "remove the record (kms_srv_record state=absent) or make the host a KMS host again"))
        elif port not in serving[host]:
            ports = ", ".join(str(p) for p in sorted(serving[host]))
            row.update(status="stale", next_step="correct the record (kms_srv_record) or the port (kms_host)", message=(
                f"SRV record '{rec.get('priority')} {rec.get('weight')} {port} {target}' names port {port}, but the "
                f"KMS host {host} listens on {ports}: clients that pick it cannot connect; correct the record "
                "(kms_srv_record) or the port (kms_host)"))
        else:
            row.update(status="ok", message=f"{target} is the activated KMS host {host}, listening on {port}")
            named.add(host)
        if row["status"] == "stale":
            problems.append({"host": host or target, "product": None, "status": "stale_srv_record",
                             "message": row["message"], "next_step": row.pop("next_step")})
        rows.append(row)
    zones = sorted({str(r["zone"]) for r in rows if r.get("zone")}) or ["the zones read"]
    for k in kms_hosts:
        k["in_dns"] = k["host"] in named
    for host in sorted(serving):
        entries = [k for k in kms_hosts if k["host"] == host]
        if host not in named and any(k["dns_publishing"] for k in entries):
            problems.append({"host": host, "product": None, "status": "not_in_dns", "message": (
                f"the KMS host publishes itself in DNS, but no _vlmcs._tcp record of {', '.join(zones)} names it: "
                "clients that find their KMS host through DNS never reach it (check the host's event 12293 "
                "and whether the DNS zone accepts its dynamic updates, or publish the record with kms_srv_record)"),
                "next_step": "check the host's event 12293 and the zone's dynamic updates, or publish the record "
                             "with kms_srv_record"})
    return rows, problems


def summarize(results: t.Mapping[str, t.Any], hosts: t.Sequence[str] | None = None,
              activation: t.Mapping[str, t.Any] | None = None,
              srv_records: t.Sequence[t.Mapping[str, t.Any]] | None = None) -> dict[str, t.Any]:
    """Build the fleet summary (see RETURN) from ``host -> license_info result``.

    ``hosts`` fixes the order and lists hosts expected even when missing from
    ``results``; ``activation`` maps host -> list of outcome dicts (``product``,
    ``outcome``, ``message``). Never raises for a malformed host result: that host is
    reported as a problem instead.
    """
    order = list(hosts) if hosts is not None else sorted(results)
    good: dict[str, t.Mapping[str, t.Any]] = {}
    for h in order:
        res = results.get(h)
        if isinstance(res, t.Mapping) and _error_text(res) is None:
            good[h] = res
    fleet = _Fleet(good)
    activation = activation or {}

    rows: list[dict[str, t.Any]] = []
    problems: list[dict[str, t.Any]] = []
    clients_of: dict[tuple[str, str], list[str]] = {}
    totals = {"hosts": len(order), "reachable": len(good), "windows_total": 0, "windows_activated": 0,
              "office_total": 0, "office_activated": 0}

    for h in order:
        raw = results.get(h)
        outcomes = [dict(o) for o in (activation.get(h) or []) if isinstance(o, t.Mapping)]
        if h not in good:
            err = _error_text(raw if isinstance(raw, t.Mapping) else None)
            rows.append({"host": h, "ok": False, "error": err, "os": None, "windows": None, "office": [],
                         "is_kms_host": False, "cmid": None, "ospp_cmid": None, "outcomes": outcomes})
            problems.append({"host": h, "product": None, "status": None, "message": err,
                             "next_step": NEXT_STEPS["no_result"]})
            continue
        res = good[h]
        products = list(res.get("products") or [])
        by_id = {p.get("activation_id"): p for p in products}
        summary = res.get("summary") or {}
        win_product = next((p for p in products if p.get("family") == "windows" and not p.get("is_addon")
                            and p.get("name") == summary.get("windows_product")), None)
        windows = None
        if summary.get("windows_status") is not None or win_product:
            windows = _product_view(win_product, fleet, summary.get("windows_product"),
                                    summary.get("windows_status"))
        office = [_product_view(by_id.get(o.get("activation_id")), fleet, o.get("name"), o.get("license_status"))
                  for o in summary.get("office") or []]
        for view, kind in [(windows, "windows"), *((o, "office") for o in office)]:
            if view is None:
                continue
            totals[f"{kind}_total"] += 1
            if view["activated"]:
                totals[f"{kind}_activated"] += 1
                if view["activated_by"]:
                    # Counted per KMS host product (Office 2016 and Office 2021 host keys on one host
                    # have their own clients), not per family.
                    source = by_id.get(view["activation_id"]) or {}
                    counted = fleet.activated_by_product(source, view["activated_by"])
                    served = clients_of.setdefault((view["activated_by"], counted or view["family"]), [])
                    if h not in served:
                        served.append(h)
            else:
                problems.append({"host": h, "product": view["name"], "status": view["status"],
                                 "message": _not_activated_message(view),
                                 "next_step": view["next_step"] or NEXT_STEPS["not_activated"]})
        service = res.get("service") or {}
        ospp = res.get("ospp_service") or {}
        os_info = res.get("os") or {}
        rows.append({"host": h, "ok": True, "error": None, "os": os_info.get("caption"),
                     "windows": windows, "office": office, "is_kms_host": bool(summary.get("kms_host")),
                     "cmid": service.get("cmid"), "ospp_cmid": ospp.get("cmid"), "outcomes": outcomes})

    kms_hosts: list[dict[str, t.Any]] = []
    for h, res in good.items():
        for p in res.get("products") or []:
            kh = p.get("kms_host")
            if p.get("channel") != "kms_host" and not kh:
                continue
            kh = kh or {}
            current, required = kh.get("current_count"), kh.get("required_count")
            kms_hosts.append({
                "host": h, "product": p.get("name"), "activation_id": p.get("activation_id"), "family": p.get("family"),
                "office_version": p.get("office_version"), "activated": bool(p.get("activated")),
                "status": p.get("license_status"), "enabled": bool(kh),
                "current_count": current, "required_count": required,
                "threshold_met": isinstance(current, int) and isinstance(required, int) and current >= required > 0,
                "listening_port": kh.get("listening_port"), "dns_publishing": kh.get("dns_publishing"),
                "clients": [],
            })
            if not p.get("activated"):
                problems.append({"host": h, "product": p.get("name"), "status": p.get("license_status"),
                                 "message": "KMS host product " + _not_activated_message(_product_view(p, fleet))
                                 + "; it answers clients 0xC004F041 until it is activated",
                                 "next_step": NEXT_STEPS["kms_host_not_activated"]})
    for entry in kms_hosts:
        # A host with several KMS products (Windows, Office 2010, Office 2016, Office 2021) lists, for
        # each, the clients that this host product counted (see _Fleet.activated_by_product).
        ident = str(entry["activation_id"] or entry["product"])
        entry["clients"] = clients_of.get((entry["host"], ident), []) + [
            c for c in clients_of.get((entry["host"], entry["family"]), [])
            if sum(1 for k in kms_hosts if k["host"] == entry["host"] and k["family"] == entry["family"]) == 1]
        entry["in_dns"] = None
    srv_rows: list[dict[str, t.Any]] = []
    if srv_records is not None:
        srv_rows, srv_problems = _check_srv(srv_records, kms_hosts, order, good)
        problems += srv_problems

    clones: list[dict[str, t.Any]] = []
    for source, field in (("spp", "cmid"), ("ospp", "ospp_cmid")):
        seen: dict[str, list[str]] = {}
        for row in rows:
            if row[field]:
                seen.setdefault(str(row[field]).lower(), []).append(row["host"])
        clones += [{"cmid": c, "source": source, "hosts": hs} for c, hs in sorted(seen.items()) if len(hs) > 1]

    totals.update(kms_host_products=len(kms_hosts), clones=len(clones), srv_records=len(srv_rows),
                  stale_srv_records=sum(1 for r in srv_rows if r["status"] == "stale"), problems=len(problems))
    out: dict[str, t.Any] = {"hosts": rows, "kms_hosts": kms_hosts, "clones": clones, "srv_records": srv_rows,
                             "problems": problems, "totals": totals}
    out["activation_paths"] = activation_paths([(h, good[h]) for h in order if h in good])
    out["lines"] = render_lines(out)
    return out


def _status_cell(view: t.Mapping[str, t.Any] | None) -> str:
    if view is None:
        return "-"
    text = str(view["status"] or "unknown")
    if view["grace_days"]:
        text += f" {view['grace_days']}d"
    if view["activated_by"]:
        text += f" <- {view['activated_by']}"
    return text


def _outcome_label(outcome: t.Mapping[str, t.Any]) -> str:
    """The product an activation outcome is about: its family (``windows``, ``office2016``) as the
    activation module returns it, else the product name."""
    return str(outcome.get("family") or outcome.get("product") or outcome.get("name") or "?")


def render_lines(summary: t.Mapping[str, t.Any]) -> list[str]:
    """The summary as text lines: totals, KMS hosts, one line per host, clones, problems."""
    tot = summary["totals"]
    lines = [
        f"Fleet: {tot['hosts']} hosts, {tot['reachable']} read; "
        f"Windows activated {tot['windows_activated']}/{tot['windows_total']}; "
        f"Office activated {tot['office_activated']}/{tot['office_total']}; "
        f"{tot['clones']} shared CMID(s); {tot['problems']} problem(s)",
        "KMS hosts (current count / count needed to activate clients):",
    ]
    if not summary["kms_hosts"]:
        lines.append("  none found")
    for k in summary["kms_hosts"]:
        count = k["current_count"]
        count_text = "no client yet (-1)" if count == -1 else str(count)
        state = "threshold met" if k["threshold_met"] else "below threshold"
        lines.append(
            f"  {k['host']}: {k['product']}: {'activated' if k['activated'] else k['status']}, "
            f"count {count_text} / {k['required_count']} ({state}), "
            f"port {k['listening_port']}, DNS publishing {'on' if k['dns_publishing'] else 'off'}, "
            f"{len(k['clients'])} client(s) activated")
    lines.append("Hosts (status, grace left, <- KMS host that activated it):")
    width = max([len(r["host"]) for r in summary["hosts"]] + [4])
    for r in summary["hosts"]:
        if not r["ok"]:
            lines.append(f"  {r['host']:<{width}}  ERROR: {r['error']}")
            continue
        office = "; ".join(f"Office {o['version'] or '?'} {_status_cell(o)}" for o in r["office"]) or "no Office"
        role = " [KMS host]" if r["is_kms_host"] else ""
        lines.append(f"  {r['host']:<{width}}  Windows {_status_cell(r['windows'])} | {office}{role}")
        lines.extend(f"  {'':<{width}}    {_outcome_label(o)}: {o.get('message', o.get('outcome', ''))}"
                     for o in r["outcomes"])
    if summary["srv_records"]:
        lines.append("DNS SRV records (_vlmcs._tcp), in the order clients try them:")
        for r in sorted(summary["srv_records"], key=lambda r: (str(r["zone"]), r["priority"] or 0, r["target"])):
            lines.append(f"  {r['zone']}: {r['priority']} {r['weight']} {r['port']} {r['target']}: {r['status']}"
                         + (f" ({r['host']})" if r["host"] and r["status"] == "ok" else ""))
    if summary["clones"]:
        lines.append("Clones sharing one CMID (a KMS host counts them once; rearm them, then activate again):")
        lines.extend(f"  {c['cmid']} ({c['source']}): {', '.join(c['hosts'])}" for c in summary["clones"])
    lines.extend(activation_path_lines(summary.get("activation_paths")))
    if summary["problems"]:
        lines.append("Problems:")
        lines.extend(f"  {p['host']}: {p['product'] + ': ' if p['product'] else ''}{p['message']}"
                     for p in summary["problems"])
    else:
        lines.append("Problems: none")
    return lines


def _walk(value: t.Any, path: str) -> t.Any:
    """``value[a][b]`` for the dotted ``path`` ``a.b``; None when a step is missing, or when a
    step is a task result that failed, was skipped or found its host unreachable."""
    for part in path.split("."):
        if not isinstance(value, t.Mapping) or part not in value:
            return None
        value = value[part]
        if isinstance(value, t.Mapping) and any(value.get(f) for f in ("failed", "unreachable", "skipped")):
            return None
    return value


def pick_result(hostvars_of_host: t.Any, keys: t.Sequence[str]) -> t.Any:
    """The ``license_info`` result of one host: the first of ``keys`` (dotted paths into the
    host's variables) that holds a usable result, else the value of the last key as it is
    (so that a failed or unreachable ``license_info`` is reported as such).

    This lets a report reuse the state a host already returned (``volume_activation_host_result
    .license_info``, from the host-level module) and fall back to its own ``license_info`` read.
    """
    if not isinstance(hostvars_of_host, t.Mapping):
        return None
    for path in keys[:-1]:
        found = _walk(hostvars_of_host, path)
        if isinstance(found, t.Mapping) and "products" in found:
            return found
    value: t.Any = hostvars_of_host
    for part in keys[-1].split("."):
        value = value.get(part) if isinstance(value, t.Mapping) else None
    return value


def fleet_summary(data: t.Any, hosts: t.Sequence[str] | None = None, key: str | t.Sequence[str] | None = None,
                  activation: t.Mapping[str, t.Any] | None = None,
                  srv_records: t.Sequence[t.Mapping[str, t.Any]] | None = None) -> dict[str, t.Any]:
    """Filter entry point; see DOCUMENTATION. ``key`` picks the result out of hostvars-like values."""
    source = _as_map(data, "the input")
    if hosts is not None and (isinstance(hosts, str) or not isinstance(hosts, t.Sequence)):
        raise AnsibleFilterError("fleet_summary: hosts must be a list of host names")
    names = [str(h) for h in hosts] if hosts is not None else sorted(str(h) for h in source)
    if key is None:
        keys: list[str] | None = None
    elif isinstance(key, str):
        keys = [key]
    elif isinstance(key, t.Sequence) and key and all(isinstance(k, str) and k for k in key):
        keys = list(key)
    else:
        raise AnsibleFilterError(f"fleet_summary: key must be a variable name or a list of them, got {key!r}")
    results: dict[str, t.Any] = {}
    for h in names:
        if h not in source:
            continue
        value = source[h]
        if keys is not None:
            value = pick_result(value, keys)
        if value is not None:
            results[h] = value
    if activation is not None:
        activation = _as_map(activation, "activation")
    if srv_records is not None:
        if isinstance(srv_records, (str, t.Mapping)) or not isinstance(srv_records, t.Sequence):
            raise AnsibleFilterError("fleet_summary: srv_records must be a list of SRV records (the kms_srv_records "
                                     f"lookup's items), got {type(srv_records).__name__}")
        for i, rec in enumerate(srv_records):
            if not isinstance(rec, t.Mapping) or not rec.get("target") or not isinstance(rec.get("port"), int):
                raise AnsibleFilterError(f"fleet_summary: srv_records[{i}] must be a dict with 'target' and an "
                                         f"integer 'port', got {rec!r}")
    return summarize(results, names, activation, srv_records)


def activation_paths(results: t.Sequence[tuple[str, t.Mapping[str, t.Any]]]) -> dict[str, list[dict[str, t.Any]]]:
    """Active Directory-based activation beside KMS: per host, the KMS client products with a key
    that were activated through AD (``activated_by`` ``ad``) and those that still need a KMS host.
    Hosts with neither are left out. Reads only the documented license_info return values."""
    paths: dict[str, list[dict[str, t.Any]]] = {"active_directory": [], "kms": []}
    for host, res in results:
        by_path: dict[str, list[str]] = {"active_directory": [], "kms": []}
        for p in res.get("products") or []:
            if not isinstance(p, t.Mapping) or p.get("channel") != "kms_client" or not p.get("partial_product_key"):
                continue
            by_path["active_directory" if p.get("activated_by") == "ad" else "kms"].append(str(p.get("name")))
        for path, names in by_path.items():
            if names:
                paths[path].append({"host": host, "products": names})
    return paths


def activation_path_lines(paths: t.Mapping[str, t.Any] | None) -> list[str]:
    """The text lines of :func:`activation_paths` (none when no host has a KMS client product)."""
    if not paths or not (paths.get("active_directory") or paths.get("kms")):
        return []
    lines = ["Activation paths (KMS client products):"]
    for path, title in (("active_directory", "through Active Directory"), ("kms", "still need a KMS host")):
        entries = paths.get(path) or []
        hosts = ", ".join(f"{e['host']} ({len(e['products'])})" for e in entries) or "none"
        lines.append(f"  {title}: {hosts}")
    return lines


class FilterModule:
    """The collection's fleet summary filter."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"fleet_summary": fleet_summary}
