"""``root/MicrosoftDNS`` on a lab host with the ``dns_server`` role: the Windows DNS Server WMI
provider, reduced to what KMS needs - the zone of the fleet and its ``_vlmcs._tcp`` SRV records.

The records are the lab's real DNS: in network mode BIND's zone (read over TCP with their TTL,
changed by TSIG-signed updates), otherwise the models' in-memory ``DnsView``. So a record created
here is what ``dig`` and the KMS clients find, and a record a KMS host published is listed here.

Classes, properties and methods as Microsoft documents them (licensing-api.md section 7;
learn.microsoft.com windows/win32/dns/microsoftdns-srvtype and
microsoftdns-srvtype-createinstancefrompropertydata):

* ``MicrosoftDNS_Server``: ``Name``, the server's FQDN ("Fully qualified domain name (FQDN) or IP
  address of the DNS Server", MicrosoftDocs/win32 desktop-src/DNS/microsoftdns-server.md).
* ``MicrosoftDNS_Zone``: ``Name``, ``ContainerName``, ``DnsServerName``, ``ZoneType`` (1 = primary).
* ``MicrosoftDNS_SRVType``: ``ContainerName`` (the zone), ``DnsServerName``, ``DomainName``,
  ``OwnerName``, ``RecordClass`` (1 = IN), ``RecordData``, ``TextRepresentation``, ``TTL``,
  ``Priority``, ``Weight``, ``Port``, ``SRVDomainName`` (the target, FQDN with its dot);
  static ``CreateInstanceFromPropertyData(DnsServerName, ContainerName, OwnerName, [RecordClass],
  [TTL], Priority, Weight, Port, SRVDomainName)``; instance ``Modify([TTL], [Priority], [Weight],
  [Port], [DomainName])``; deletion of instances.

``CreateInstanceFromPropertyData`` takes ``DnsServerName`` as Microsoft documents it, "FQDN or IP
address of the DNS Server that contains this RR" (microsoftdns-srvtype-createinstancefrompropertydata.md):
the lab accepts this server's FQDN (with or without the final dot) or its address and refuses
anything else, ``.`` included, with 0x80041008 (WBEM_E_INVALID_PARAMETER, the WMI code for an
invalid parameter value, wbemcli.h). Microsoft documents no specific error for a wrong server
name; the code is the lab's choice [LAB], the refusal follows the documented contract.

Not simulated [LAB]: other record types and zones, owners other than ``_vlmcs._tcp.<domain>``
(0x8004100C WBEM_E_NOT_SUPPORTED), and the error a real server gives for a record that already
exists (the lab's zone holds a set: adding it again changes nothing).
"""

from __future__ import annotations

import typing as t

from winlab.models import errors
from winlab.models.errors import WmiError
from winlab.models.srv import KMS_OWNER, SrvRecord

if t.TYPE_CHECKING:
    from winlab.models.host import WindowsHost

NAMESPACE = "root/microsoftdns"
SERVER_CLASS = "MicrosoftDNS_Server"
ZONE_CLASS = "MicrosoftDNS_Zone"
SRV_CLASS = "MicrosoftDNS_SRVType"
CLASSES = (SERVER_CLASS, ZONE_CLASS, SRV_CLASS)
ZONE_PROPS = ("ContainerName", "DnsServerName", "Name", "ZoneType")
SRV_PROPS = ("ContainerName", "DnsServerName", "DomainName", "OwnerName", "Port", "Priority", "RecordClass",
             "RecordData", "SRVDomainName", "TextRepresentation", "TTL", "Weight")
#: Parameters (name, CIM type); a type ending in ``?`` is optional.
SRV_METHODS: dict[str, list[tuple[str, str]]] = {
    "CreateInstanceFromPropertyData": [
        ("DnsServerName", "string"), ("ContainerName", "string"), ("OwnerName", "string"),
        ("RecordClass", "uint32?"), ("TTL", "uint32?"), ("Priority", "uint16"), ("Weight", "uint16"),
        ("Port", "uint16"), ("SRVDomainName", "string"),
    ],
    "Modify": [("TTL", "uint32?"), ("Priority", "uint16?"), ("Weight", "uint16?"), ("Port", "uint16?"),
               ("DomainName", "string?")],
}
STATIC_METHODS = frozenset({"CreateInstanceFromPropertyData"})
#: A record's TTL when CreateInstanceFromPropertyData is given none: the zone's default [LAB].
DEFAULT_TTL = 3600
WBEM_E_NOT_SUPPORTED = 0x8004100C


def _fqdn(name: t.Any) -> str:
    return str(name or "").strip().rstrip(".").lower()


def server_rows(host: WindowsHost) -> list[dict[str, t.Any]]:
    """The one ``MicrosoftDNS_Server`` instance: this server, by its FQDN."""
    return [{"Name": host.fqdn}]


def _check_server_name(host: WindowsHost, name: t.Any) -> None:
    """``DnsServerName`` must name this server: its FQDN or its address (see the module docstring)."""
    given = str(name or "").strip()
    if _fqdn(given) not in (host.fqdn.lower(), host.spec.address) or given in ("", "."):
        raise WmiError(errors.WBEM_E_INVALID_PARAMETER,
                       f"DnsServerName '{given}' is not the FQDN or IP address of the DNS server {host.fqdn}")


def zone_rows(host: WindowsHost) -> list[dict[str, t.Any]]:
    zone = host.domain
    return [{"ContainerName": zone, "DnsServerName": host.fqdn, "Name": zone, "ZoneType": 1}]


def srv_rows(host: WindowsHost) -> list[dict[str, t.Any]]:
    zone = host.domain
    rows = []
    for owner, r in host.world.dns.zone_srv(zone):
        data = f"{r.priority} {r.weight} {r.port} {r.target}."
        rows.append({
            "ContainerName": zone, "DnsServerName": host.fqdn, "DomainName": zone, "OwnerName": owner,
            "Port": r.port, "Priority": r.priority, "RecordClass": 1, "RecordData": data,
            "SRVDomainName": f"{r.target}.", "TextRepresentation": f"{owner} IN SRV {data}", "TTL": r.ttl,
            "Weight": r.weight,
        })
    return rows


def _record(row: t.Mapping[str, t.Any]) -> tuple[str, SrvRecord]:
    owner = _fqdn(row["OwnerName"])
    return owner, SrvRecord(owner, _fqdn(row["SRVDomainName"]), int(row["Port"]), int(row["Priority"]),
                            int(row["Weight"]), int(row["TTL"]))


def _check_owner(host: WindowsHost, zone: str, owner: str) -> None:
    if zone != host.domain:
        raise WmiError(errors.WBEM_E_NOT_FOUND, f"zone '{zone}' is not hosted on {host.fqdn}")
    if owner != zone and not owner.endswith("." + zone):
        raise WmiError(errors.WBEM_E_INVALID_PARAMETER, f"'{owner}' is not inside zone '{zone}'")
    if not owner.startswith(KMS_OWNER + "."):
        raise WmiError(WBEM_E_NOT_SUPPORTED, f"the lab's DNS server keeps {KMS_OWNER} SRV records only, not '{owner}'")


def invoke(host: WindowsHost, method: str, a: dict[str, t.Any], row: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """Run a checked ``MicrosoftDNS_SRVType`` method (``row`` None for the static one)."""
    dns = host.world.dns
    if method == "CreateInstanceFromPropertyData":
        _check_server_name(host, a["DnsServerName"])
        zone, owner = _fqdn(a["ContainerName"]), _fqdn(a["OwnerName"])
        _check_owner(host, zone, owner)
        if a.get("RecordClass") not in (None, 1):
            raise WmiError(errors.WBEM_E_INVALID_PARAMETER, f"RecordClass {a['RecordClass']} is not IN (1)")
        target = _fqdn(a["SRVDomainName"])
        if not target:
            raise WmiError(errors.WBEM_E_INVALID_PARAMETER, "SRVDomainName is empty")
        rec = SrvRecord(owner, target, int(a["Port"]), int(a["Priority"]), int(a["Weight"]),
                        int(a["TTL"]) if a.get("TTL") is not None else DEFAULT_TTL)
        dns.add_srv(owner, rec)
        return {"RR": f"{owner} IN SRV {rec.priority} {rec.weight} {rec.port} {rec.target}."}
    if row is None:
        raise WmiError(errors.WBEM_E_INVALID_PARAMETER, f"{SRV_CLASS}.{method} needs an instance")
    owner, old = _record(row)
    new = SrvRecord(owner, _fqdn(a["DomainName"]) if a.get("DomainName") else old.target,
                    int(a["Port"]) if a.get("Port") is not None else old.port,
                    int(a["Priority"]) if a.get("Priority") is not None else old.priority,
                    int(a["Weight"]) if a.get("Weight") is not None else old.weight,
                    int(a["TTL"]) if a.get("TTL") is not None else old.ttl)
    if not dns.remove_srv(owner, old):
        raise WmiError(errors.WBEM_E_NOT_FOUND, f"the record '{row.get('TextRepresentation')}' no longer exists")
    dns.add_srv(owner, new)
    return {"RR": f"{owner} IN SRV {new.priority} {new.weight} {new.port} {new.target}."}


def delete(host: WindowsHost, rows: t.Sequence[dict[str, t.Any]]) -> int:
    """``Remove-CimInstance`` of each row; the number deleted."""
    done = 0
    for row in rows:
        owner, rec = _record(row)
        if host.world.dns.remove_srv(owner, rec):
            done += 1
    return done
