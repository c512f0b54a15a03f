"""What a simulated Windows host answers through CIM (moto's "responses" side).

:class:`CimSurface` wraps one :class:`~winlab.models.host.WindowsHost` and gives what
``Get-CimInstance`` / ``Invoke-CimMethod`` give on Windows: documented class, property,
method and parameter names (MS-SLP, MS-SLS, MOF7601, SLMGR10, OSPP15), uint32 values
as ints, NULL as None, datetimes as aware datetimes, and failures as ``WmiError``
carrying the HRESULT Windows reports:

* classes, properties, methods and parameters are those of the host's Windows version, as
  written down from Microsoft's sources in ``winlab/data/schema/<nt>.yml`` (OSPP classes in
  ``ospp.yml``; ``winlab.models.schema``): what one version lacks, it lacks here too;
* unknown namespace 0x8004100E, class 0x80041010, a property (SELECT list or WHERE) the class
  does not have on this version 0x80041017 (WBEM_E_INVALID_QUERY), bad WQL 0x80041017;
* ``Invoke-CimMethod`` checks the argument names against the class definition before it calls
  WMI and throws an ``ArgumentException`` (0x80070057, E_INVALIDARG) for a parameter the
  method does not have, and, through ``-CimClass`` with arguments, for a method the class
  does not have (PowerShell/PowerShell
  src/Microsoft.Management.Infrastructure.CimCmdlets/CimInvokeCimMethod.cs,
  ``CreateParametersCollection``; the messages are its CimCmdletStrings ``InvalidMethod`` and
  ``InvalidMethodParameter``); otherwise an unknown method reaches WMI: 0x80041030
  (WBEM_E_INVALID_METHOD); a required parameter left out 0x80041008 [LAB: the provider's
  code is not documented]; a wrongly typed argument 0x80041005;
* a method that exists on Windows but that the lab does not simulate fails with
  0x8004100C (WBEM_E_NOT_SUPPORTED) and says so, never a silent success;
* licensing failures carry the SL_E_* HRESULT (see ``errors``);
* host-only service setters (intervals, listening port, DNS publishing, priority) on
  a machine that is not a KMS host fail 0xC004F039 (SL_E_VL_BINDING_SERVICE_NOT_ENABLED);
  slmgr.vbs itself refuses them there [SLMGR10 SetActivationInterval...].

The surface holds no state of its own: ``CimSurface(host)`` is cheap, and the state
it reads and changes is the host's.
"""

from __future__ import annotations

import typing as t

from winlab.models import adds, dnsserver, errors, schema
from winlab.models.errors import WmiError
from winlab.models.host import LCIDS, WindowsHost
from winlab.models.kms import (
    OFFICE_THRESHOLD,
    UNCONTACTED,
    WINDOWS_CLIENT_THRESHOLD,
)
from winlab.models.licensing import (
    DEFAULT_ACTIVATION_INTERVAL,
    DEFAULT_RENEWAL_INTERVAL,
    NONE_DATE,
    Product,
)
from winlab.models.wql import compile_condition

CIMV2 = "root/cimv2"
MSDNS = "root/microsoftdns"
SPP_SERVICE = "SoftwareLicensingService"
SPP_PRODUCT = "SoftwareLicensingProduct"
OSPP_SERVICE = "OfficeSoftwareProtectionService"
OSPP_PRODUCT = "OfficeSoftwareProtectionProduct"
WIN32_OS = "Win32_OperatingSystem"
WIN32_CS = "Win32_ComputerSystem"

Param = tuple[str, str]  # (name, CIM type; "?" after the type of an optional parameter)

#: KMS client setters that the licensing service and its products share, with the registry
#: value each writes or (Clear*) removes.
KMS_CLIENT_SETTERS = {
    "SetKeyManagementServiceMachine": "KeyManagementServiceName",
    "ClearKeyManagementServiceMachine": "KeyManagementServiceName",
    "SetKeyManagementServicePort": "KeyManagementServicePort",
    "ClearKeyManagementServicePort": "KeyManagementServicePort",
    "SetKeyManagementServiceLookupDomain": "KeyManagementServiceLookupDomain",
    "ClearKeyManagementServiceLookupDomain": "KeyManagementServiceLookupDomain",
}

NOT_SIMULATED = {
    "InstallLicense", "InstallLicensePackage", "DisableKeyManagementServiceActivation", "AcquireGenuineTicket",
    "GetPolicyInformationDWord",
    "GetPolicyInformationString", "GetTokenActivationGrants", "GenerateTokenActivationChallenge",
    "DepositTokenActivationResponse",
}

HOST_ONLY_SETTERS = {
    "SetVLActivationInterval", "SetVLRenewalInterval", "SetKeyManagementServiceListeningPort",
    "ClearKeyManagementServiceListeningPort", "DisableKeyManagementServiceDnsPublishing",
    "EnableKeyManagementServiceLowPriority",
}

WBEM_E_NOT_SUPPORTED = 0x8004100C

errors.MESSAGES.setdefault(WBEM_E_NOT_SUPPORTED, "Not supported ")

COUNTRY = {"en-US": "1", "ja-JP": "81"}

def normalize_namespace(ns: str | None) -> str:
    """``root\\cimv2`` / ``ROOT/CIMV2`` -> ``root/cimv2``."""
    return (ns or CIMV2).replace("\\", "/").strip("/").lower()

def _check_arg(method: str, name: str, ctype: str, value: t.Any) -> t.Any:
    """Convert an argument as CIM would; 0x80041005 when it cannot be."""
    if value is None:
        return None
    if ctype == "string":
        if isinstance(value, (dict, list)):
            raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} must be a string")
        return str(value)
    if ctype in ("uint32", "uint16"):
        if isinstance(value, bool):
            raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} must be a {ctype}")
        try:
            n = int(value) if not isinstance(value, str) else int(value.strip(), 0)
        except (TypeError, ValueError) as e:
            raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} must be a {ctype}") from e
        if not 0 <= n <= (0xFFFFFFFF if ctype == "uint32" else 0xFFFF):
            raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} is out of the {ctype} range")
        return n
    if ctype == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise WmiError(errors.WBEM_E_TYPE_MISMATCH, f"{method}.{name} must be a boolean")
    raise AssertionError(ctype)

def _versions(nts: list[str]) -> str:
    """``6.1+`` when the newest version has it, else the versions listed."""
    order = [x.nt for x in schema.schemas()]
    if nts and nts[-1] == order[-1] and order[order.index(nts[0]):] == nts:
        return f"{nts[0]}+"
    return ", ".join(nts)


def coverage() -> list[dict[str, t.Any]]:
    """What the lab simulates, generated from the per-version schemas (moto-style coverage
    list): one row per licensing class method with ``simulated`` (True, or False = answers
    0x8004100C), ``windows`` (the NT versions whose class has it, ``OSPP`` for the OSPP
    classes), ``source`` (the schema's source tags) and the parameters. Classes not listed
    (SoftwareLicensingTokenActivationLicense, ...) answer 0x80041010; the DNS classes of a
    ``dns_server`` host are described in ``models/dnsserver.py``."""
    rows: list[dict[str, t.Any]] = []
    for cls in (SPP_SERVICE, SPP_PRODUCT):
        seen: dict[str, list[str]] = {}
        defs: dict[str, schema.MethodDef] = {}
        tags: dict[str, dict[str, None]] = {}
        for sch in schema.schemas():
            for name, m in sch.classes[cls].methods.items():
                seen.setdefault(name, []).append(sch.nt)
                defs[name] = m  # the newest version's parameters
                tags.setdefault(name, {}).update(dict.fromkeys(m.source.split("+")))
        for name, nts in seen.items():
            m = defs[name]
            rows.append({"class": cls, "method": name, "windows": _versions(nts), "simulated": name not in NOT_SIMULATED,
                         "source": ", ".join(tags[name]), "parameters": [f"{p.ctype} {p.name}" for p in m.in_params]})
    for cls, cdef in schema.ospp_classes().items():
        for name, m in cdef.methods.items():
            rows.append({"class": cls, "method": name, "windows": "OSPP", "simulated": name not in NOT_SIMULATED,
                         "source": m.source, "parameters": [f"{p.ctype} {p.name}" for p in m.in_params]})
    return rows


class CimSurface:
    """The CIM classes of one host (``root/cimv2`` licensing classes, Win32_OperatingSystem,
    and ``root/MicrosoftDNS`` on a DNS server), answered from the host's state.

    Mutate only under ``world.lock``, as for the host itself.
    """

    def __init__(self, host: WindowsHost) -> None:
        self.host = host

    # -- CIM: classes --------------------------------------------------------------------
    def classes(self, namespace: str = CIMV2) -> list[str]:
        """Classes this host answers in ``namespace`` (``WmiError`` for an unknown namespace)."""
        ns = normalize_namespace(namespace)
        if ns == CIMV2:
            out = [SPP_SERVICE, SPP_PRODUCT, WIN32_OS, WIN32_CS]
            if self.host.has_ospp:
                out += [OSPP_SERVICE, OSPP_PRODUCT]
            return out
        # root/MicrosoftDNS exists only on DNS servers (hosts with the dns_server role).
        if ns == dnsserver.NAMESPACE and "dns_server" in self.host.spec.roles:
            return list(dnsserver.CLASSES)
        raise WmiError(errors.WBEM_E_INVALID_NAMESPACE, f"namespace '{namespace}' does not exist on {self.host.name}")

    def canonical_class(self, class_name: str, namespace: str = CIMV2) -> str:
        """The class' canonical spelling; 0x80041010 when the host has no such class."""
        for c in self.classes(namespace):
            if c.lower() == class_name.lower():
                return c
        raise WmiError(errors.WBEM_E_INVALID_CLASS, f"class '{class_name}' does not exist on {self.host.name}")

    def class_def(self, class_name: str) -> schema.ClassDef:
        """The definition of a class on this host's Windows version (after ``canonical_class``):
        ``winlab/data/schema/<nt>.yml``, or ``ospp.yml`` for the OSPP classes."""
        if class_name in (OSPP_SERVICE, OSPP_PRODUCT):
            return schema.ospp_classes()[class_name]
        classes = schema.for_os(self.host.os.id).classes
        if class_name not in classes:
            raise WmiError(errors.WBEM_E_INVALID_CLASS, class_name)
        return classes[class_name]

    def class_properties(self, class_name: str) -> tuple[str, ...]:
        """Property names of a class on this host, in the schema's order."""
        return self.class_def(class_name).property_names()

    def class_methods(self, class_name: str) -> dict[str, list[Param]]:
        """Methods (name -> in-parameters) of a class on this host."""
        cdef = self.class_def(class_name)
        return {m: cdef.lab_params(m) for m in cdef.methods}

    def cim_instances(self, class_name: str, namespace: str = CIMV2) -> list[dict[str, t.Any]]:
        """All instances of a class as property dicts (documented names, WMI types)."""
        cls = self.canonical_class(class_name, namespace)
        props = self.class_properties(cls)
        if cls == SPP_PRODUCT:
            rows = [self._product_row(p) for p in self.host.store_products("spp")]
        elif cls == OSPP_PRODUCT:
            rows = [self._product_row(p) for p in self.host.store_products("ospp")]
        elif cls == SPP_SERVICE:
            rows = [self._service_row("spp")]
        elif cls == OSPP_SERVICE:
            rows = [self._service_row("ospp")]
        elif cls == dnsserver.SERVER_CLASS:
            rows = dnsserver.server_rows(self.host)
        elif cls == dnsserver.ZONE_CLASS:
            rows = dnsserver.zone_rows(self.host)
        elif cls == dnsserver.SRV_CLASS:
            rows = dnsserver.srv_rows(self.host)
        elif cls == WIN32_CS:
            rows = [self._cs_row()]
        else:
            rows = [self._os_row()]
        return [{k: row.get(k) for k in props} for row in rows]

    def query(self, class_name: str, condition: str | None = None, namespace: str = CIMV2,
              properties: t.Sequence[str] | None = None) -> list[dict[str, t.Any]]:
        """``Get-CimInstance -ClassName c -Filter condition -Property properties``."""
        cls = self.canonical_class(class_name, namespace)
        names = self.class_properties(cls)
        rows = self.cim_instances(cls, namespace)
        if condition is not None and condition.strip():
            pred = compile_condition(condition, names)
            rows = [r for r in rows if pred(r)]
        if properties:
            lower = {n.lower(): n for n in names}
            wanted = []
            for prop in properties:
                canon = lower.get(str(prop).lower())
                if canon is None:
                    raise WmiError(errors.WBEM_E_INVALID_QUERY, f"no property '{prop}' on {cls}")
                wanted.append(canon)
            rows = [{k: r[k] for k in names if k in wanted} for r in rows]
        return rows

    def _product_row(self, p: Product) -> dict[str, t.Any]:
        now = self.host.now
        status, reason, grace = p.status(now)
        settings = self.host.kms_client_settings(p)
        is_host = p.sku.channel == "CSVLK" and p.key is not None
        kms = p.kms_host
        counters = dict(kms.counters) if (kms and is_host) else {}
        count = kms.current_count(now) if (kms and is_host) else UNCONTACTED
        row: dict[str, t.Any] = {
            "ApplicationID": p.sku.app_id, "Description": p.sku.description,
            "DiscoveredKeyManagementServiceMachineName": p.discovered_name or "",
            "DiscoveredKeyManagementServiceMachinePort": p.discovered_port,
            "DiscoveredKeyManagementServiceMachineIpAddress": p.discovered_ip or "",
            "EvaluationEndDate": NONE_DATE, "ExtendedGrace": 0, "GenuineStatus": 0,
            "GracePeriodRemaining": grace, "ID": p.id,
            "IsKeyManagementServiceMachine": 1 if is_host else 0,
            "KeyManagementServiceCurrentCount": count,
            "KeyManagementServiceLookupDomain": settings["lookup_domain"] or "",
            "KeyManagementServiceMachine": settings["machine"] or "",
            "KeyManagementServicePort": settings["port"] if settings["machine"] else 0,
            "KeyManagementServiceProductKeyID": p.kms_pid or "",
            "LicenseDependsOn": "", "LicenseFamily": p.sku.license_family, "LicenseIsAddon": False,
            "LicenseStatus": status, "LicenseStatusReason": reason,
            "MachineURL": "", "Name": p.sku.name,
            "OfflineInstallationId": p.offline_iid, "PartialProductKey": p.partial_key,
            "ProcessorURL": "", "ProductKeyChannel": p.sku.product_key_channel if p.key else None,
            "ProductKeyID": p.product_key_id or "", "ProductKeyID2": p.product_key_id or "",
            "ProductKeyURL": "",
            "RemainingAppReArmCount": self.host.office_rearm_remaining if p.sku.product != "windows" else 0,
            "RemainingSkuReArmCount": p.remaining_sku_rearm,
            "RequiredClientCount": ((WINDOWS_CLIENT_THRESHOLD if p.sku.product == "windows" else OFFICE_THRESHOLD)
                                    if is_host else p.required_client_count),
            "TokenActivationAdditionalInfo": "", "TokenActivationCertificateThumbprint": "",
            "TokenActivationGrantNumber": 0, "TokenActivationILID": "", "TokenActivationILVID": 0xFFFFFFFF,
            "TrustedTime": now, "UseLicenseURL": "", "ValidationURL": "",
            "VLActivationInterval": p.vl_activation_interval, "VLRenewalInterval": p.vl_renewal_interval,
            "VLActivationType": p.vl_activation_type,
            # The effective activation type: the product's own, else the service's (the service
            # class has no such property on any version; it has only the setters) [WS2019].
            "VLActivationTypeEnabled": self.host._reg_int(self.host._sku_key(p), "VLActivationType",
                                                          self.host._reg_int(self.host._root(p.store),
                                                                             "VLActivationType", 0)),
            "AutomaticVMActivationHostDigitalPid2": "",
            "AutomaticVMActivationHostMachineName": "", "AutomaticVMActivationLastActivationTime": NONE_DATE,
            "IAID": "",
        }
        for name in ("KeyManagementServiceTotalRequests", "KeyManagementServiceFailedRequests",
                     "KeyManagementServiceUnlicensedRequests", "KeyManagementServiceLicensedRequests",
                     "KeyManagementServiceOOBGraceRequests", "KeyManagementServiceOOTGraceRequests",
                     "KeyManagementServiceNonGenuineGraceRequests", "KeyManagementServiceNotificationRequests"):
            row[name] = counters.get(name) if is_host else None
        # The activation object of the last AD activation (VLActivationType 1) [SLMGR10 /dlv
        # "AD Activation client information"]; empty otherwise.
        ao = self.host.ad_activation.get(p.id) if p.vl_activation_type == adds.TYPE_AD and p.key else None
        row.update({"ADActivationObjectName": ao.name if ao else "", "ADActivationObjectDN": ao.dn if ao else "",
                    "ADActivationCsvlkPid": ao.pid if ao else "", "ADActivationCsvlkSkuId": ao.sku_id if ao else ""})
        return row

    def _service_row(self, store: str) -> dict[str, t.Any]:
        root = self.host._root(store)
        now = self.host.now
        if store == "ospp":
            office = [o.version for o in self.host.spec.office]
            version = "14.0.7015.1000" if "2010" in office else "15.0.4420.1017"  # [LAB] typical builds
            client = next((p for p in self.host.store_products("ospp") if p.key_kind == "gvlk"), None)
            return {
                "ClientMachineID": self.host.ospp_cmid,
                "DiscoveredKeyManagementServiceMachineName": (client.discovered_name if client else None) or "",
                "DiscoveredKeyManagementServiceMachinePort": client.discovered_port if client else 0,
                "IsKeyManagementServiceMachine": 0, "KeyManagementServiceCurrentCount": UNCONTACTED,
                "KeyManagementServiceHostCaching": self.host._reg_int(root, "DisableKeyManagementServiceHostCaching", 0) == 0,
                "KeyManagementServiceMachine": self.host._reg_str(root, "KeyManagementServiceName") or "",
                "KeyManagementServicePort": self.host._reg_int(root, "KeyManagementServicePort", 0),
                "KeyManagementServiceProductKeyID": (client.kms_pid if client else None) or "",
                "PolicyCacheRefreshRequired": 0, "RequiredClientCount": client.required_client_count if client else 0,
                "Version": version,
                "VLActivationInterval": client.vl_activation_interval if client else DEFAULT_ACTIVATION_INTERVAL,
                "VLRenewalInterval": client.vl_renewal_interval if client else DEFAULT_RENEWAL_INTERVAL,
            }
        win = next((p for p in self.host.store_products("spp") if p.sku.product == "windows" and p.key is not None), None)
        host = next((p for p in self.host.kms_host_products() if p.sku.product == "windows"), None)
        hosts = self.host.kms_host_products()
        counters = dict(host.kms_host.counters) if host and host.kms_host else {}
        row: dict[str, t.Any] = {
            "ClientMachineID": self.host.cmid,
            "DiscoveredKeyManagementServiceMachineName": (win.discovered_name if win else None) or "",
            "DiscoveredKeyManagementServiceMachinePort": win.discovered_port if win else 0,
            "DiscoveredKeyManagementServiceMachineIpAddress": (win.discovered_ip if win else None) or "",
            "IsKeyManagementServiceMachine": 1 if hosts else 0,
            "KeyManagementServiceActivationDisabled": False,
            "KeyManagementServiceCurrentCount": (host.kms_host.current_count(now) if host and host.kms_host
                                                 else UNCONTACTED),
            "KeyManagementServiceDnsPublishing": self.host._reg_int(root, "DisableDnsPublishing", 0) == 0,
            "KeyManagementServiceHostCaching": self.host._reg_int(root, "DisableKeyManagementServiceHostCaching", 0) == 0,
            "KeyManagementServiceListeningPort": self.host._reg_int(root, "KeyManagementServiceListeningPort", 0),
            "KeyManagementServiceLookupDomain": self.host._reg_str(root, "KeyManagementServiceLookupDomain") or "",
            "KeyManagementServiceLowPriority": self.host._reg_int(root, "EnableKmsLowPriority", 0) != 0,
            "KeyManagementServiceMachine": self.host._reg_str(root, "KeyManagementServiceName") or "",
            "KeyManagementServicePort": self.host._reg_int(root, "KeyManagementServicePort", 0),
            "KeyManagementServiceProductKeyID": (win.kms_pid if win else None) or "",
            "OA3xOriginalProductKey": "", "OA3xOriginalProductKeyDescription": "", "OA3xOriginalProductKeyPkPn": "",
            "PolicyCacheRefreshRequired": 0, "RemainingWindowsReArmCount": self.host.remaining_rearm,
            "RequiredClientCount": WINDOWS_CLIENT_THRESHOLD if host else (win.required_client_count if win else 0),
            "TokenActivationAdditionalInfo": "", "TokenActivationCertificateThumbprint": "",
            "TokenActivationGrantNumber": 0, "TokenActivationILID": "", "TokenActivationILVID": 0xFFFFFFFF,
            "Version": self.host.os.spp_version,
            "VLActivationInterval": self.host._reg_int(root, "VLActivationInterval", DEFAULT_ACTIVATION_INTERVAL),
            "VLRenewalInterval": self.host._reg_int(root, "VLRenewalInterval", DEFAULT_RENEWAL_INTERVAL),
            "OA2xBiosMarkerMinorVersion": 0, "OA2xBiosMarkerStatus": 0,
        }
        for name in ("KeyManagementServiceTotalRequests", "KeyManagementServiceFailedRequests",
                     "KeyManagementServiceUnlicensedRequests", "KeyManagementServiceLicensedRequests",
                     "KeyManagementServiceOOBGraceRequests", "KeyManagementServiceOOTGraceRequests",
                     "KeyManagementServiceNonGenuineGraceRequests", "KeyManagementServiceNotificationRequests"):
            row[name] = counters.get(name, 0) if host else None
        return row

    def _os_row(self) -> dict[str, t.Any]:
        product_type = 2 if "domain_controller" in self.host.spec.roles else (3 if self.host.os.server else 1)
        caption = f"{self.host.os.caption} {self.host.edition.caption}"
        return {
            "BuildNumber": self.host.os.build, "Caption": caption, "CountryCode": COUNTRY.get(self.host.locale, "1"),
            "CSName": self.host.name.upper(), "InstallDate": self.host.installed_at,
            "LastBootUpTime": self.host.last_boot, "LocalDateTime": self.host.now,
            "Locale": f"{LCIDS.get(self.host.locale, 1033):04x}", "Manufacturer": "Microsoft Corporation",
            "MUILanguages": [self.host.locale],
            "Name": f"{caption}|C:\\Windows|\\Device\\Harddisk0\\Partition2",
            "OperatingSystemSKU": self.host.edition.os_sku, "OSArchitecture": "64-bit",
            "OSLanguage": LCIDS.get(self.host.locale, 1033), "OSType": 18, "ProductType": product_type,
            "SystemDirectory": "C:\\Windows\\system32", "Version": self.host.os.version,
            "WindowsDirectory": "C:\\Windows",
        }

    def _cs_row(self) -> dict[str, t.Any]:
        joined = self.host.domain_joined
        dc = "domain_controller" in self.host.spec.roles
        role = 5 if dc else (3 if self.host.os.server else 1) if joined else (2 if self.host.os.server else 0)
        return {"DNSHostName": self.host.name.lower(), "Domain": self.host.domain if joined else "WORKGROUP",
                "DomainRole": role, "Name": self.host.name.upper(), "PartOfDomain": joined,
                "Workgroup": None if joined else "WORKGROUP"}

    def delete(self, class_name: str, condition: str, namespace: str = CIMV2) -> int:
        """``Remove-CimInstance`` of the instances ``condition`` selects; the number deleted.
        Only DNS records can be deleted (0x8004100C for the licensing classes)."""
        cls = self.canonical_class(class_name, namespace)
        if cls != dnsserver.SRV_CLASS:
            raise WmiError(WBEM_E_NOT_SUPPORTED, f"instances of {cls} cannot be deleted")
        return dnsserver.delete(self.host, self.query(cls, condition, namespace))

    def instance_key(self, class_name: str, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """The key the executor reports for an instance (ID / Version / Name)."""
        if class_name in (SPP_PRODUCT, OSPP_PRODUCT):
            return {"ID": row["ID"]}
        if class_name in (SPP_SERVICE, OSPP_SERVICE):
            return {"Version": row["Version"]}
        if class_name == dnsserver.SRV_CLASS:
            return {"Name": row.get("TextRepresentation")}
        return {"Name": row.get("Name")}

    # -- CIM: methods -----------------------------------------------------------------
    def check_method(self, class_name: str, method: str, args: dict[str, t.Any],
                     namespace: str = CIMV2, via_class: bool = False) -> tuple[str, str, dict[str, t.Any]]:
        """Validate class, method and arguments as ``Invoke-CimMethod`` and WMI would before
        running anything; ``via_class`` when the call goes through the class (``-CimClass``, a
        static method) rather than an instance. Returns (class, method, converted arguments) in
        canonical spelling.

        PowerShell's CimInvokeCimMethod.cs ``CreateParametersCollection`` runs first, and only
        when arguments are given: it looks each argument up in the method's declaration from the
        class definition and throws an ArgumentException (HResult 0x80070057) for a parameter
        the method does not have; through ``-CimClass`` it also throws for a method the class
        does not have. Anything else reaches WMI: an unknown method there is 0x80041030."""
        cls = self.canonical_class(class_name, namespace)
        methods = self.class_methods(cls)
        canon = next((m for m in methods if m.lower() == method.lower()), None)
        given = {str(k).lower(): (k, v) for k, v in (args or {}).items()}
        if canon is None:
            if via_class and given:
                # The message is the ArgumentException's (CimCmdletStrings InvalidMethod).
                raise WmiError(errors.E_INVALIDARG, msg=f"Can not find method '{method}' in class '{cls}'.")
            raise WmiError(errors.WBEM_E_INVALID_METHOD, f"{cls} has no method '{method}'")
        params = methods[canon]
        declared = {pname.lower() for pname, _ in params}
        for key, _value in given.values():
            if key.lower() not in declared:
                # CimCmdletStrings InvalidMethodParameter, the ArgumentException's message.
                raise WmiError(errors.E_INVALIDARG,
                               msg=f"Can not find Parameter '{key}' in method '{canon}' of class '{cls}'.")
        out: dict[str, t.Any] = {}
        for pname, ptype in params:
            optional = ptype.endswith("?")
            if pname.lower() not in given:
                if optional:
                    continue
                raise WmiError(errors.WBEM_E_INVALID_PARAMETER, f"{cls}.{canon} needs parameter '{pname}'")
            out[pname] = _check_arg(canon, pname, ptype.rstrip("?"), given.pop(pname.lower())[1])
        return cls, canon, out

    def invoke(self, class_name: str, method: str, args: dict[str, t.Any] | None = None,
               row: dict[str, t.Any] | None = None, namespace: str = CIMV2) -> dict[str, t.Any]:
        """Invoke ``method`` on one instance (``row`` as returned by ``query``; None for the
        singleton service). Returns the out-parameters (``ReturnValue`` 0); raises ``WmiError``."""
        cls, canon, a = self.check_method(class_name, method, args or {}, namespace)
        if canon in NOT_SIMULATED:
            raise WmiError(WBEM_E_NOT_SUPPORTED, f"{cls}.{canon} is not simulated by the lab")
        if cls in (SPP_SERVICE, OSPP_SERVICE):
            return self._service_method("spp" if cls == SPP_SERVICE else "ospp", canon, a)
        if cls == dnsserver.SRV_CLASS:
            return dnsserver.invoke(self.host, canon, a, row)
        if row is None or "ID" not in row:
            raise WmiError(errors.WBEM_E_INVALID_PARAMETER, f"{cls}.{canon} needs an instance")
        p = self.host.product(str(row["ID"]))
        store = "spp" if cls == SPP_PRODUCT else "ospp"
        if p is None or p.store != store:
            raise WmiError(errors.WBEM_E_NOT_FOUND, f"{cls} instance {row['ID']} does not exist")
        return self._product_method(p, canon, a)

    # service methods
    def _service_method(self, store: str, method: str, a: dict[str, t.Any]) -> dict[str, t.Any]:
        root = self.host._root(store)
        if method == "InstallProductKey":
            self.host.install_product_key(store, a["ProductKey"] or "")
            return {}
        if method in ("RefreshLicenseStatus", "ClearProductKeyFromRegistry"):
            # The lab keeps no key copy in the registry and computes state on read.
            return {}
        if method == "ReArmWindows":
            self.host.rearm_windows()
            return {}
        if method == "ReArmApp":
            self.host.rearm_app(str(a["ApplicationId"] or ""))
            return {}
        if method == "DoActiveDirectoryOnlineActivation":
            adds.online_activation(self.host, a["ProductKey"] or "", a["ActivationObjectName"] or "")
            return {}
        if method == "GenerateActiveDirectoryOfflineActivationId":
            return {"InstallationID": adds.installation_id(self.host, a["ProductKey"] or "")}
        if method == "DepositActiveDirectoryOfflineActivationConfirmation":
            adds.deposit_confirmation(self.host, a["ProductKey"] or "", a["ConfirmationID"] or "",
                                      a["ActivationObjectName"] or "")
            return {}
        if method in HOST_ONLY_SETTERS and not self.host.kms_host_products():
            raise WmiError(errors.SL_E_VL_BINDING_SERVICE_NOT_ENABLED, f"{self.host.name} is not a KMS host")
        reg = self.host.registry
        if method in KMS_CLIENT_SETTERS:
            self._kms_client_setting(root, method, a)
        elif method in ("SetVLActivationInterval", "SetVLRenewalInterval"):
            value = a["ActivationInterval" if method == "SetVLActivationInterval" else "RenewalInterval"]
            if value is None or not 15 <= value <= 43200:
                # 15 minutes .. 30 days [WSD-SLMGR]; E_INVALIDARG as slmgr's HR_INVALID_ARG [SLMGR10].
                raise WmiError(errors.E_INVALIDARG, f"interval {value} is outside 15..43200 minutes")
            reg.set(root, method.removeprefix("Set"), "DWord", value)
        elif method == "SetKeyManagementServiceListeningPort":
            reg.set(root, "KeyManagementServiceListeningPort", "String", str(self._port(a["PortNumber"])))
        elif method == "ClearKeyManagementServiceListeningPort":
            reg.remove(root, "KeyManagementServiceListeningPort")
        elif method == "DisableKeyManagementServiceDnsPublishing":
            reg.set(root, "DisableDnsPublishing", "DWord", 1 if a["DisablePublishing"] else 0)
        elif method == "EnableKeyManagementServiceLowPriority":
            reg.set(root, "EnableKmsLowPriority", "DWord", 1 if a["EnableLowPriority"] else 0)
        elif method == "DisableKeyManagementServiceHostCaching":
            reg.set(root, "DisableKeyManagementServiceHostCaching", "DWord", 1 if a["DisableCaching"] else 0)
        elif method == "SetVLActivationTypeEnabled":
            reg.set(root, "VLActivationType", "DWord", self._activation_type(a["ActivationType"]))
        elif method == "ClearVLActivationTypeEnabled":
            reg.remove(root, "VLActivationType")
        else:
            raise WmiError(WBEM_E_NOT_SUPPORTED, f"{method} is not simulated by the lab")
        return {}

    def _kms_client_setting(self, key: str, method: str, a: dict[str, t.Any]) -> None:
        """A KMS client setter (KMS machine, port, lookup domain) written to ``key``: the licensing
        service's registry key for the service's methods, the SKU's key for a product's (the same
        methods exist on both classes [MS-SLP], [SLMGR10])."""
        reg = self.host.registry
        if method == "SetKeyManagementServiceMachine":
            name = (a["MachineName"] or "").strip()
            if not name:
                raise WmiError(errors.E_INVALIDARG, "MachineName is empty")
            reg.set(key, "KeyManagementServiceName", "String", name)
        elif method == "SetKeyManagementServicePort":
            reg.set(key, "KeyManagementServicePort", "String", str(self._port(a["PortNumber"])))
        elif method == "SetKeyManagementServiceLookupDomain":
            dom = (a["LookupDomain"] or "").strip()
            if not dom:
                raise WmiError(errors.E_INVALIDARG, "LookupDomain is empty")
            reg.set(key, "KeyManagementServiceLookupDomain", "String", dom)
        else:
            reg.remove(key, KMS_CLIENT_SETTERS[method])

    @staticmethod
    def _port(value: int | None) -> int:
        if value is None or not 1 <= value <= 65535:
            raise WmiError(errors.E_INVALIDARG, f"port {value} is outside 1..65535")
        return value

    @staticmethod
    def _activation_type(value: int | None) -> int:
        if value is None or value not in (0, 1, 2, 3):
            raise WmiError(errors.E_INVALIDARG, f"activation type {value} is not 0..3")
        return value

    # product methods
    def _product_method(self, p: Product, method: str, a: dict[str, t.Any]) -> dict[str, t.Any]:
        reg = self.host.registry
        sku_key = self.host._sku_key(p)
        if method == "Activate":
            self.host.activate(p)
        elif method == "UninstallProductKey":
            if p.key is None:
                raise WmiError(errors.SL_E_PKEY_NOT_INSTALLED, f"{p.id} has no key")
            if p.store == "ospp" and (a.get("ProductKeyID") or "") != (p.product_key_id or ""):
                # [LAB] another product's key ID: the OSPP answer is not documented
                raise WmiError(errors.SL_E_PKEY_NOT_INSTALLED, f"{p.id} has no key '{a.get('ProductKeyID')}'")
            p.clear_key()
        elif method == "DepositOfflineConfirmationId":
            self.host.deposit_confirmation(p, a["InstallationId"] or "", a["ConfirmationId"] or "")
        elif method == "ReArmSku":
            self.host.rearm_sku(p)
        elif method in KMS_CLIENT_SETTERS:
            self._kms_client_setting(sku_key, method, a)
        elif method == "SetVLActivationTypeEnabled":
            reg.set(sku_key, "VLActivationType", "DWord", self._activation_type(a["ActivationType"]))
        elif method == "ClearVLActivationTypeEnabled":
            reg.remove(sku_key, "VLActivationType")
        else:
            raise WmiError(WBEM_E_NOT_SUPPORTED, f"{method} is not simulated by the lab")
        return {}
