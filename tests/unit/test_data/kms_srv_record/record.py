"""Write the executor results that the kms_srv_record unit tests replay (method=windows_dns).

Run from the repository root: ``.venv/bin/python tests/unit/test_data/kms_srv_record/record.py``.

Two kinds of file, each saying which it is in its ``source`` field:

* ``recorded from the lab``: ``wmi_no_dns_role.json``, the read batch answered by the lab's
  executor surface for kms01 of lab/fleets/small.yml. The lab does not model
  ``root/MicrosoftDNS`` and answers 0x8004100E (WBEM_E_INVALID_NAMESPACE), which is what a
  Windows host without the DNS Server role answers.
* ``shaped after Microsoft's documentation``: every other file. No Windows DNS server is
  reachable here and the lab does not simulate one, so these results are written by hand in
  the executor's result shape (docs/executor-protocol.md) with the property names and types
  of MicrosoftDNS_ResourceRecord / MicrosoftDNS_SRVType (learn.microsoft.com/windows/win32/dns/
  microsoftdns-srvtype, licensing-api.md section 7). Two details are [INFERRED], not
  documented: SRVDomainName is returned as an absolute name with the trailing dot (as the
  provider's RecordData/TextRepresentation show names), and the out parameter ``RR`` of
  CreateInstanceFromPropertyData / Modify arrives as the new instance's properties. The
  module accepts SRVDomainName with or without the dot, and never reads ``RR``.

The unit tests assert the operations sent against their own expectations, never against
anything written here.
"""

from __future__ import annotations

import json
import pathlib
import sys
import typing as t

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[3]
sys.path.insert(0, str(ROOT / ".build" / "collections"))

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _kms_srv_record  # noqa: E402

ZONE = "contoso.com"
OWNER = "_vlmcs._tcp.contoso.com"
DNS_SERVER = "dc01.contoso.com"
SHAPED = "shaped after Microsoft's documentation (no Windows DNS server here)"


def srv(target: str, port: int = 1688, priority: int = 0, weight: int = 0, ttl: int = 3600) -> dict[str, t.Any]:
    """A MicrosoftDNS_SRVType instance as the executor returns it for the properties the module asks."""
    return {"ContainerName": ZONE, "OwnerName": OWNER, "TTL": ttl, "Priority": priority, "Weight": weight,
            "Port": port, "SRVDomainName": target + "."}


def read_results(*records: dict[str, t.Any], zone: bool = True) -> list[dict[str, t.Any]]:
    return [
        {"op": "cim_query", "ok": True, "instances": [{"Name": ZONE}] if zone else []},
        {"op": "cim_query", "ok": True, "instances": list(records)},
        # MicrosoftDNS_Server.Name: the server's FQDN (MicrosoftDocs/win32 desktop-src/DNS/microsoftdns-server.md)
        {"op": "cim_query", "ok": True, "instances": [{"Name": DNS_SERVER}]},
    ]


def created(record: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"op": "cim_invoke", "ok": True, "matched": 1, "invocations": [
        {"key": None, "return_value": None, "out": {"RR": record}, "hresult": None, "error": None}]}


def modified(record: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"op": "cim_invoke", "ok": True, "matched": 1, "invocations": [
        {"key": {"Name": None}, "return_value": None, "out": {"RR": record}, "hresult": None, "error": None}]}


def deleted(count: int = 1) -> dict[str, t.Any]:
    return {"op": "cim_delete", "ok": True, "deleted": count}


def save(name: str, description: str, source: str, args: dict[str, t.Any], *,
         round_trips: list[list[dict[str, t.Any]]], changed: list[bool]) -> None:
    data = {
        "description": description,
        "source": source,
        "module": "kms_srv_record",
        "args": args,
        "round_trips": [{"changed": c, "results": r} for c, r in zip(changed, round_trips, strict=True)],
    }
    (HERE / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def record_no_dns_role() -> None:
    from winlab.models.world import World
    from winlab.spec import load_fleet
    from winlab.surfaces.executor import run_batch

    w = World(load_fleet(ROOT / "lab" / "fleets" / "small.yml"))
    res = run_batch(w, w.host("kms01"), {"operations": _kms_srv_record.wmi_read_operations(ZONE, OWNER),
                                         "stop_on_error": False})
    res.pop("_log_ops", None)  # the lab's own request-log annotation, not part of the protocol
    args = {"method": "windows_dns", "zone": ZONE, "records": [{"target": "kms1.contoso.com"}]}
    data = {"description": "kms01 (no DNS Server role): root/MicrosoftDNS does not exist",
            "source": "recorded from the lab (winlab executor surface, lab/fleets/small.yml host kms01)",
            "module": "kms_srv_record", "args": args, "round_trips": [res]}
    (HERE / "wmi_no_dns_role.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    record_no_dns_role()
    kms1, kms2 = srv("kms1.contoso.com"), srv("kms2.contoso.com", priority=10)
    old = srv("kms-old.contoso.com")
    save("wmi_replace_host", "kms-old was replaced by kms2: exclusive adds kms2 and deletes the stale record",
         SHAPED,
         {"method": "windows_dns", "zone": ZONE, "exclusive": True,
          "records": [{"target": "kms1.contoso.com"}, {"target": "kms2.contoso.com", "priority": 10}]},
         round_trips=[read_results(kms1, old), [created(kms2), deleted(1), *read_results(kms1, kms2)]],
         changed=[False, True])
    save("wmi_noop", "the records already match: one round trip", SHAPED,
         {"method": "windows_dns", "zone": ZONE,
          "records": [{"target": "kms1.contoso.com"}, {"target": "KMS2.contoso.com.", "priority": 10}]},
         round_trips=[read_results(kms1, kms2)], changed=[False])
    kms1_new = srv("kms1.contoso.com", port=1689, ttl=1200)
    other = srv("kms9.contoso.com", ttl=3600)
    save("wmi_update_port", "kms1 moves to port 1689 with TTL 1200; kms9 (not listed) is left alone", SHAPED,
         {"method": "windows_dns", "zone": ZONE, "ttl": 1200,
          "records": [{"target": "kms1.contoso.com", "port": 1689}]},
         round_trips=[read_results(kms1, other), [modified(kms1_new), *read_results(kms1_new, other)]],
         changed=[False, True])
    save("wmi_zone_missing", "the DNS server does not host the zone", SHAPED,
         {"method": "windows_dns", "zone": ZONE, "records": [{"target": "kms1.contoso.com"}]},
         round_trips=[read_results(zone=False)], changed=[False])


if __name__ == "__main__":
    main()
