"""The lab's answer to ``winops.volume_activation.licensing_batch`` (docs/executor-protocol.md).

``run_batch(world, host, args)`` validates the whole batch first (allow-lists, required
keys, secret references; any problem fails the module and nothing runs), then executes
the operations in order against the host model, under ``world.lock``, and returns the
module result dict (``changed``, ``results``). Failures of single operations do not
fail the module. Secrets arrive in ``product_keys`` / ``confirmation_ids`` and are
referenced from ``arguments`` as ``{"secret": "product_keys", "index": 0}``; they are
resolved only at the call and never copied into a result or the host's request log.

Lab choices where the contract is silent (also in lab/README.md):

* an operation key the contract does not list for that op is a validation error (a
  typo such as ``filer`` must not silently widen a filter);
* ``changed`` counts mutating operations that succeeded, except a ``cim_invoke`` that
  matched no instance (nothing ran).

``cim_invoke`` runs as the executor does on Windows: the instances are selected first (a
query error fails the operation), then ``Invoke-CimMethod`` runs once per instance (once on
the class for ``static``), and each call's failure is that invocation's. ``Invoke-CimMethod``
checks the argument names against the class definition before it calls WMI and throws an
``ArgumentException``, HRESULT 0x80070057 (PowerShell/PowerShell
src/Microsoft.Management.Infrastructure.CimCmdlets/CimInvokeCimMethod.cs,
``CreateParametersCollection``): see ``WindowsHost.check_method``. With no instance
selected nothing is called, so even a misspelt method name goes unnoticed there, as on
Windows.

Firewall operations go through the firewall COM API (``winlab.models.firewall.ComRule``),
as the executor does: the built-in KMS rule is recognised by what Windows ships (an
indirect-string Grouping, inbound, TCP, local port 1688, service sppsvc), the
collection's own rules by Name and Grouping. Before anything runs, the shipped executor
script is checked against the host's PowerShell (``winlab.models.powershell``): on a
Windows 7 / Server 2008 R2 host a script that uses the NetSecurity cmdlets fails its
firewall operations with PowerShell's CommandNotFoundException, as it would there.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
import typing as t

from winlab.models import adds, dnsserver, errors, powershell
from winlab.models.errors import WmiError
from winlab.models.firewall import ComRule, com_add, com_remove, com_rules
from winlab.models.host import WindowsHost
from winlab.models.registry import OSPP_KEY, REG_TYPES, SPP_KEY, coerce, normalize_path
from winlab.surfaces import netprobe
from winlab.surfaces.cim import CIMV2, MSDNS, CimSurface, normalize_namespace

if t.TYPE_CHECKING:
    from winlab.models.world import World

SECRET_LISTS = ("product_keys", "confirmation_ids")

QUERY_CLASSES = ("SoftwareLicensingService", "SoftwareLicensingProduct", "OfficeSoftwareProtectionService",
                 "OfficeSoftwareProtectionProduct", "Win32_OperatingSystem", "MicrosoftDNS_SRVType",
                 "MicrosoftDNS_Zone", "Win32_ComputerSystem", "MicrosoftDNS_Server")
SERVICE_CLASSES = ("SoftwareLicensingService", "OfficeSoftwareProtectionService")
PRODUCT_CLASSES = ("SoftwareLicensingProduct", "OfficeSoftwareProtectionProduct")
SERVICE_METHODS = (
    "InstallProductKey", "RefreshLicenseStatus", "SetKeyManagementServiceMachine",
    "ClearKeyManagementServiceMachine", "SetKeyManagementServicePort", "ClearKeyManagementServicePort",
    "SetKeyManagementServiceLookupDomain", "ClearKeyManagementServiceLookupDomain", "SetVLActivationInterval",
    "SetVLRenewalInterval", "SetKeyManagementServiceListeningPort", "ClearKeyManagementServiceListeningPort",
    "DisableKeyManagementServiceDnsPublishing", "EnableKeyManagementServiceLowPriority",
    "DisableKeyManagementServiceHostCaching", "SetVLActivationTypeEnabled", "ClearVLActivationTypeEnabled",
    "ReArmWindows", "ReArmApp",
    "DoActiveDirectoryOnlineActivation", "DepositActiveDirectoryOfflineActivationConfirmation")
PRODUCT_METHODS = (
    "Activate", "UninstallProductKey", "DepositOfflineConfirmationId", "SetKeyManagementServiceMachine",
    "ClearKeyManagementServiceMachine", "SetKeyManagementServicePort", "ClearKeyManagementServicePort",
    "SetKeyManagementServiceLookupDomain", "ClearKeyManagementServiceLookupDomain", "SetVLActivationTypeEnabled",
    "ClearVLActivationTypeEnabled", "ReArmSku")
DNS_METHODS = {"CreateInstanceFromPropertyData": True, "Modify": False}  # name -> static
DELETE_CLASSES = ("MicrosoftDNS_SRVType",)
REG_ROOTS = (SPP_KEY, OSPP_KEY)
SERVICES = ("sppsvc", "osppsvc")
FIREWALL_BUILTIN = ("SPPSVC-In-TCP",)
FIREWALL_PREFIX = "winops-va-"
# Where Office 2010 keeps OSPPREARM.EXE (the OSPP folder); what the lab reports as ``path``.
OSPPREARM_PATH = r"C:\Program Files\Common Files\Microsoft Shared\OfficeSoftwareProtectionPlatform\OSPPREARM.EXE"

MUTATING = {"cim_invoke", "cim_delete", "reg_set", "reg_remove", "firewall_set", "firewall_create",
            "firewall_remove", "service_restart", "os_restart", "ospp_rearm", "ad_activation_object_remove"}

# op -> (required keys, optional keys)
OP_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cim_query": (("class",), ("namespace", "filter", "properties", "optional_properties")),
    "cim_invoke": (("class", "method"), ("namespace", "filter", "arguments", "static", "argument_property")),
    "cim_delete": (("class", "filter"), ("namespace",)),
    "reg_get": (("path",), ("names",)),
    "reg_set": (("path", "name", "type", "value"), ()),
    "reg_remove": (("path", "name"), ()),
    "firewall_get": (("name",), ("group",)),
    "firewall_set": (("name",), ("group", "enabled", "profiles", "remote_addresses", "local_ports")),
    "firewall_create": (("name", "group"), ("description", "direction", "action", "protocol", "local_ports",
                                            "remote_addresses", "profiles", "enabled", "program", "service")),
    "firewall_remove": (("name", "group"), ()),
    "service_get": (("name",), ()),
    "service_restart": (("name",), ()),
    "os_restart": ((), ("delay",)),
    "ospp_rearm": ((), ()),
    "ad_activation_objects": ((), ()),
    "ad_installation_id": (("product_key",), ()),
    "ad_activation_object_remove": (("dn",), ()),
    # Network probes (surfaces/netprobe.py), read-only.
    "dns_query": (("type",), ("name", "name_from")),
    "tcp_exchange": ((), ("targets", "configured_from", "srv_from", "default_port", "send", "frame_length",
                          "receive_max", "connect_timeout_ms", "receive_timeout_ms", "check_ports")),
}
# An activation object's DN: a direct child of the container (the executor deletes nothing else).
AO_DN_RE = re.compile(r"^CN=[^,]+,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,"
                      r"(DC=[^,]+,)*DC=[^,]+$")

HR_ALREADY_EXISTS = 0x800700B7
HR_SERVICE_DOES_NOT_EXIST = 0x80070424
errors.MESSAGES.setdefault(HR_ALREADY_EXISTS, "Cannot create a file when that file already exists.")
errors.MESSAGES.setdefault(HR_SERVICE_DOES_NOT_EXIST, "The specified service does not exist as an installed service.")


class BatchValidationError(ValueError):
    """The batch is invalid; nothing was executed. The message names the index and value."""


@dataclasses.dataclass
class Secrets:
    """The no_log lists, resolved only at the call site."""

    product_keys: list[str]
    confirmation_ids: list[str]

    def values(self) -> list[str]:
        """Every secret string (for masking)."""
        return [s for s in (*self.product_keys, *self.confirmation_ids) if s]

    def resolve(self, ref: dict[str, t.Any]) -> str:
        """The secret a reference names (validated beforehand)."""
        return str(getattr(self, ref["secret"])[int(ref["index"])])


def _is_secret_ref(v: t.Any) -> bool:
    return isinstance(v, dict) and "secret" in v


def _canon(name: str, allowed: t.Iterable[str]) -> str | None:
    return next((a for a in allowed if a.lower() == str(name).lower()), None)


def _reg_path_allowed(path: str) -> bool:
    try:
        p = normalize_path(path).lower()
    except ValueError:
        return False
    return any(p == r.lower() or p.startswith(r.lower() + "\\") for r in REG_ROOTS)


def _fw_name_allowed(name: str) -> bool:
    return name in FIREWALL_BUILTIN or name.lower().startswith(FIREWALL_PREFIX)


def validate(args: dict[str, t.Any], secrets: Secrets) -> list[dict[str, t.Any]]:
    """Check the whole batch; returns the operations; ``BatchValidationError`` otherwise."""
    ops = args.get("operations")
    if not isinstance(ops, list) or not ops:
        raise BatchValidationError("operations: a non-empty list of operations is required")
    for i, op in enumerate(ops):
        where = f"operations[{i}]"
        if not isinstance(op, dict):
            raise BatchValidationError(f"{where}: an operation must be a dict, got {type(op).__name__}")
        kind = op.get("op")
        if kind not in OP_KEYS:
            raise BatchValidationError(f"{where}: unknown op '{kind}'")
        required, optional = OP_KEYS[kind]
        for k in required:
            if op.get(k) in (None, ""):
                raise BatchValidationError(f"{where} ({kind}): '{k}' is required")
        extra = sorted(set(op) - set(required) - set(optional) - {"op", "skip_after_failure"})
        if extra:
            raise BatchValidationError(f"{where} ({kind}): unsupported key(s) {', '.join(extra)}")
        if "skip_after_failure" in op and not isinstance(op["skip_after_failure"], bool):
            raise BatchValidationError(f"{where} ({kind}): 'skip_after_failure' must be a bool")
        _validate_op(where, kind, op, secrets)
    return ops


def _validate_op(where: str, kind: str, op: dict[str, t.Any], secrets: Secrets) -> None:
    if kind.startswith("cim_"):
        ns = normalize_namespace(op.get("namespace"))
        if ns not in (CIMV2, MSDNS):
            raise BatchValidationError(f"{where} ({kind}): namespace '{op.get('namespace')}' is not allowed")
        cls = str(op["class"])
        allowed_classes = DELETE_CLASSES if kind == "cim_delete" else QUERY_CLASSES
        canon = _canon(cls, allowed_classes)
        if canon is None:
            raise BatchValidationError(f"{where} ({kind}): class '{cls}' is not allowed")
        if op.get("filter") is not None and not isinstance(op["filter"], str):
            raise BatchValidationError(f"{where} ({kind}): 'filter' must be a string")
        for key in ("properties", "optional_properties"):
            if kind == "cim_query" and op.get(key) is not None and (
                    not isinstance(op[key], list) or not all(isinstance(p, str) for p in op[key])):
                raise BatchValidationError(f"{where} (cim_query): '{key}' must be a list of strings")
        if kind == "cim_query" and op.get("optional_properties") is not None and op.get("properties") is None:
            raise BatchValidationError(f"{where} (cim_query): 'optional_properties' needs 'properties'")
        if kind == "cim_invoke":
            method = str(op["method"])
            static = op.get("static", False)
            if not isinstance(static, bool):
                raise BatchValidationError(f"{where} (cim_invoke): 'static' must be a boolean")
            if canon in SERVICE_CLASSES:
                allowed_methods: t.Iterable[str] = SERVICE_METHODS
            elif canon in PRODUCT_CLASSES:
                allowed_methods = PRODUCT_METHODS
            elif canon == "MicrosoftDNS_SRVType":
                allowed_methods = DNS_METHODS
            else:
                allowed_methods = ()
            if _canon(method, allowed_methods) is None:
                raise BatchValidationError(f"{where} (cim_invoke): method '{method}' of {canon} is not allowed")
            if canon in PRODUCT_CLASSES and not static and not (op.get("filter") or "").strip():
                raise BatchValidationError(
                    f"{where} (cim_invoke): a filter is required to invoke {method} on {canon} instances")
            if op.get("argument_property") is not None:
                if static or canon not in PRODUCT_CLASSES:
                    raise BatchValidationError(f"{where} (cim_invoke): argument_property is only for product instances")
                if not re.fullmatch(r"[A-Za-z_]\w*", str(op["argument_property"])):
                    raise BatchValidationError(f"{where} (cim_invoke): '{op['argument_property']}' is not a property name")
                if op.get("arguments") is not None:
                    raise BatchValidationError(f"{where} (cim_invoke): argument_property and arguments exclude each other")
            arguments = op.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise BatchValidationError(f"{where} (cim_invoke): 'arguments' must be a dict")
            for name, value in arguments.items():
                if _is_secret_ref(value):
                    _check_ref(f"{where}.arguments.{name}", value, secrets)
                elif isinstance(value, dict):
                    raise BatchValidationError(f"{where}.arguments.{name}: a dict value must be a secret reference")
    elif kind.startswith("reg_"):
        if not _reg_path_allowed(str(op["path"])):
            raise BatchValidationError(f"{where} ({kind}): registry path '{op['path']}' is not allowed")
        if kind == "reg_get" and op.get("names") is not None and not isinstance(op["names"], list):
            raise BatchValidationError(f"{where} (reg_get): 'names' must be a list")
        if kind == "reg_set":
            if op["type"] not in REG_TYPES or op["type"] == "Binary":
                raise BatchValidationError(f"{where} (reg_set): type '{op['type']}' is not allowed")
            try:
                coerce(op["type"], op["value"])
            except ValueError as e:
                raise BatchValidationError(f"{where} (reg_set): {e}") from None
    elif kind.startswith("firewall_"):
        name = str(op["name"])
        if not _fw_name_allowed(name):
            raise BatchValidationError(f"{where} ({kind}): firewall rule '{name}' is not allowed")
        builtin = name in FIREWALL_BUILTIN
        if builtin and kind in ("firewall_create", "firewall_remove"):
            raise BatchValidationError(f"{where} ({kind}): '{name}' is a built-in rule")
        if builtin and op.get("group") is not None:
            raise BatchValidationError(f"{where} ({kind}): a built-in rule takes no group")
        if not builtin and not str(op.get("group") or "").strip():
            raise BatchValidationError(f"{where} ({kind}): the rule '{name}' needs its group")
        for prof in _as_list(op["profiles"]) if op.get("profiles") is not None else []:
            if prof not in ("Any", "Domain", "Private", "Public"):
                raise BatchValidationError(f"{where} ({kind}): '{prof}' is not a firewall profile")
        if op.get("protocol") not in (None, "TCP", "UDP", "Any"):
            raise BatchValidationError(f"{where} ({kind}): protocol must be TCP, UDP or Any")
        if op.get("enabled") is not None and not isinstance(op["enabled"], bool):
            raise BatchValidationError(f"{where} ({kind}): 'enabled' must be a boolean")
        if op.get("local_ports") is not None:
            for port in _as_list(op["local_ports"]):
                if not re.fullmatch(r"\d{1,5}(-\d{1,5})?|Any", str(port)):
                    raise BatchValidationError(f"{where} ({kind}): local port '{port}' is not a port or range")
        if op.get("direction") not in (None, "Inbound", "Outbound"):
            raise BatchValidationError(f"{where} ({kind}): direction '{op['direction']}' is not Inbound|Outbound")
        if op.get("action") not in (None, "Allow", "Block"):
            raise BatchValidationError(f"{where} ({kind}): action '{op['action']}' is not Allow|Block")
    elif kind.startswith("service_") and _canon(str(op["name"]), SERVICES) is None:
        raise BatchValidationError(f"{where} ({kind}): service '{op['name']}' is not allowed")
    elif kind == "os_restart" and "delay" in op and (
            isinstance(op["delay"], bool) or not isinstance(op["delay"], int) or not 0 <= op["delay"] <= 600):
        raise BatchValidationError(f"{where} (os_restart): delay must be an integer of seconds, 0..600")
    elif kind == "ad_installation_id":
        if not _is_secret_ref(op["product_key"]):
            raise BatchValidationError(f"{where} (ad_installation_id): product_key must be a secret reference")
        _check_ref(f"{where}.product_key", op["product_key"], secrets)
    elif kind in ("dns_query", "tcp_exchange"):
        _validate_probe(where, kind, op)
    elif kind == "ad_activation_object_remove" and not AO_DN_RE.match(str(op["dn"])):
        raise BatchValidationError(f"{where} ({kind}): '{op['dn']}' is not an activation object's distinguished name")


def _int_in(value: t.Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _validate_probe(where: str, kind: str, op: dict[str, t.Any]) -> None:
    """The network operations' keys, as the executor checks them before anything runs."""
    index = int(where.split("[", 1)[1].split("]", 1)[0])

    def ref_ok(ref: t.Any, names: tuple[str, ...]) -> bool:
        return isinstance(ref, dict) and _int_in(ref.get("result"), 0, index - 1) and all(
            isinstance(ref.get(n), str) and re.fullmatch(r"[A-Za-z_]\w*", ref[n]) for n in names)

    if kind == "dns_query":
        if op["type"] not in ("SRV", "A"):
            raise BatchValidationError(f"{where} (dns_query): type must be SRV or A")
        if ("name" in op) == ("name_from" in op):
            raise BatchValidationError(f"{where} (dns_query): give name or name_from")
        if "name" in op and not re.fullmatch(r"[A-Za-z0-9_.-]{1,253}", str(op["name"])):
            raise BatchValidationError(f"{where} (dns_query): '{op['name']}' is not a DNS name")
        if "name_from" in op and not (isinstance(op["name_from"], dict) and all(
                ref_ok(r, ("property",)) for r in op["name_from"].get("first_of") or [])):
            raise BatchValidationError(f"{where} (dns_query): name_from.first_of must reference earlier results")
        return
    for key in ("connect_timeout_ms", "receive_timeout_ms"):
        if key in op and not _int_in(op[key], 100, 10000):
            raise BatchValidationError(f"{where} (tcp_exchange): {key} must be 100..10000")
    if "receive_max" in op and not _int_in(op["receive_max"], 1, 65536):
        raise BatchValidationError(f"{where} (tcp_exchange): receive_max must be 1..65536")
    if "default_port" in op and not _int_in(op["default_port"], 1, 65535):
        raise BatchValidationError(f"{where} (tcp_exchange): default_port must be 1..65535")
    ports = op.get("check_ports") or []
    if not isinstance(ports, list) or len(ports) > 8 or not all(_int_in(p, 1, 65535) for p in ports):
        raise BatchValidationError(f"{where} (tcp_exchange): check_ports must be up to 8 ports")
    targets = op.get("targets") or []
    if not isinstance(targets, list) or len(targets) > 8 or not all(
            isinstance(x, dict) and re.fullmatch(r"[A-Za-z0-9_.-]{1,253}", str(x.get("host")))
            and _int_in(x.get("port"), 1, 65535) for x in targets):
        raise BatchValidationError(f"{where} (tcp_exchange): each target needs a host name or address and a port")
    if "configured_from" in op and not ref_ok(op["configured_from"], ("host_property", "port_property")):
        raise BatchValidationError(f"{where} (tcp_exchange): configured_from must reference an earlier result")
    if "srv_from" in op and not _int_in(op["srv_from"], 0, index - 1):
        raise BatchValidationError(f"{where} (tcp_exchange): srv_from must be the index of an earlier dns_query")
    frame = op.get("frame_length")
    if frame is not None and not (isinstance(frame, dict) and _int_in(frame.get("offset"), 0, 60)
                                  and frame.get("size") in (2, 4)):
        raise BatchValidationError(f"{where} (tcp_exchange): frame_length needs an offset (0..60) and a size (2 or 4)")
    if "send" in op:
        try:
            base64.b64decode(str(op["send"]), validate=True)
        except ValueError:
            raise BatchValidationError(f"{where} (tcp_exchange): send must be base64") from None


def _as_list(v: t.Any) -> list[str]:
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def _check_ref(where: str, ref: dict[str, t.Any], secrets: Secrets) -> None:
    name = ref.get("secret")
    index = ref.get("index")
    if name not in SECRET_LISTS or set(ref) - {"secret", "index"}:
        raise BatchValidationError(f"{where}: bad secret reference (secret must be one of {', '.join(SECRET_LISTS)})")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(getattr(secrets, name)):
        raise BatchValidationError(f"{where}: secret reference {name}[{index}] does not exist")


def to_json(v: t.Any) -> t.Any:
    """CIM value -> JSON value (datetimes as ISO 8601 with offset)."""
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    return v


def _fail(op: dict[str, t.Any], e: WmiError, **extra: t.Any) -> dict[str, t.Any]:
    return {"op": op["op"], "ok": False, **extra, **e.as_dict()}


def run_batch(world: World, host: WindowsHost, args: dict[str, t.Any], check_mode: bool = False,
              script: str = "") -> dict[str, t.Any]:
    """Validate and execute a batch; returns ``{"changed", "results"}``.
    ``BatchValidationError`` when the batch is invalid (nothing executed), or when it holds
    a mutating operation and the task runs in check mode. ``script`` is the executor's
    source as shipped ("" when not known): operations that would run a command this
    host's PowerShell lacks fail as PowerShell fails them there."""
    secrets = Secrets(list(args.get("product_keys") or []), list(args.get("confirmation_ids") or []))
    ops = validate(args, secrets)
    if check_mode:
        for i, op in enumerate(ops):
            if op["op"] in MUTATING:
                raise BatchValidationError(f"operation {i} ({op['op']}) changes the host and the task runs in check mode")
    missing = powershell.missing_commands(host.os_version, script) if script else {}
    stop_on_error = args.get("stop_on_error", True)
    results: list[dict[str, t.Any]] = []
    changed = False
    log_ops: list[dict[str, t.Any]] = []
    with world.lock:
        failed = False
        stopped = False
        for op in ops:
            # Only a failed mutating operation stops the batch, and only the mutating ones
            # after it: read operations always run (docs/executor-protocol.md). An operation
            # marked skip_after_failure stops the batch there when a mutating one before failed.
            if failed and op["op"] in MUTATING and (stop_on_error or op.get("skip_after_failure") is True):
                stopped = True
            if stopped and op["op"] in MUTATING:
                results.append({"op": op["op"], "ok": False, "skipped": True})
                log_ops.append({"op": op["op"], "skipped": True})
                continue
            if op["op"] in missing:
                res = {"op": op["op"], "ok": False, **powershell.command_not_found(missing[op["op"]])}
            else:
                res = _run_op(host, op, secrets, results)
            results.append(res)
            entry: dict[str, t.Any] = {"op": op["op"], "ok": res["ok"]}
            for k in ("class", "method", "path", "name"):
                if k in op:
                    entry[k] = op[k]
            if "matched" in res:
                entry["matched"] = res["matched"]
            if not res["ok"]:
                entry["hresult_hex"] = res.get("hresult_hex")
                failed = failed or op["op"] in MUTATING
            log_ops.append(entry)
            if res["ok"] and op["op"] in MUTATING and not (op["op"] == "cim_invoke" and res.get("matched") == 0) \
                    and not (op["op"] == "ad_activation_object_remove" and not res.get("existed")):
                changed = True
    return {"changed": changed, "results": results, "_log_ops": log_ops}


def _run_op(host: WindowsHost, op: dict[str, t.Any], secrets: Secrets,
            earlier: t.Sequence[t.Mapping[str, t.Any]] = ()) -> dict[str, t.Any]:
    kind = op["op"]
    if kind == "dns_query":
        return netprobe.dns_query(host, op, earlier)
    if kind == "tcp_exchange":
        return netprobe.tcp_exchange(host, op, earlier)
    try:
        if kind == "cim_query":
            ns = op.get("namespace") or CIMV2
            cim = CimSurface(host)
            names = op.get("properties")
            if names is not None and op.get("optional_properties"):
                # The executor reads the class definition (Get-CimClass, from the WMI repository)
                # and adds the optional names the class has on this host's version; a class the
                # host lacks is left to the query, which fails with 0x80041010 as WMI does.
                try:
                    defined = {n.lower() for n in cim.class_properties(cim.canonical_class(op["class"], ns))}
                except WmiError:
                    defined = set()
                names = [*names, *(n for n in op["optional_properties"]
                                   if n.lower() in defined and n not in names)]
            rows = cim.query(op["class"], op.get("filter"), ns, names)
            return {"op": kind, "ok": True, "instances": [to_json(r) for r in rows]}
        if kind == "cim_invoke":
            return _cim_invoke(host, op, secrets)
        if kind == "cim_delete":
            deleted = CimSurface(host).delete(op["class"], op["filter"], op.get("namespace") or CIMV2)
            return {"op": kind, "ok": True, "deleted": deleted}
        if kind.startswith("reg_"):
            return _registry(host, op)
        if kind.startswith("firewall_"):
            return _firewall(host, op)
        if kind == "os_restart":
            # shutdown.exe /r /t <delay> returns at once; the restart follows [LAB: WinRM down
            # for the control plane's restart time, then LastBootUpTime is the boot time].
            delay = int(op.get("delay", 2))
            host.request_restart(delay)
            return {"op": kind, "ok": True, "delay": delay}
        if kind == "ospp_rearm":
            code = host.ospp_rearm()
            if code:
                return _fail(op, WmiError(code), path=OSPPREARM_PATH, exit_code=code)
            return {"op": kind, "ok": True, "path": OSPPREARM_PATH, "exit_code": 0}
        if kind.startswith("ad_"):
            return _adba(host, op, secrets)
        return _service(host, op)
    except WmiError as e:
        return _fail(op, e)


def _cim_invoke(host: WindowsHost, op: dict[str, t.Any], secrets: Secrets) -> dict[str, t.Any]:
    ns = op.get("namespace") or CIMV2
    raw_args = op.get("arguments") or {}
    # Resolve secret references only here, at the call; never stored.
    call_args = {k: (secrets.resolve(v) if _is_secret_ref(v) else v) for k, v in raw_args.items()}
    static = bool(op.get("static"))
    cim = CimSurface(host)
    # Get-CimClass / Get-CimInstance first: their failures (no such class, a bad filter) are the
    # operation's, as in the executor.
    cls = cim.canonical_class(op["class"], ns)
    by_position: str | None = None
    if op.get("argument_property") is not None:
        # The executor passes the property by position, as ospp.vbs does
        # (instance.UninstallProductKey(instance.ProductKeyID)), naming it after the class's
        # only in-parameter (Get-CimClass ... CimClassMethods[method].Parameters); a method that
        # does not declare exactly one fails the operation (the executor's throw).
        methods = {m.lower(): params for m, params in cim.class_methods(cls).items()}
        declared = methods.get(str(op["method"]).lower(), [])
        if len(declared) != 1:
            raise WmiError(HR_COR_E_SYSTEM, msg=f"{cls}.{op['method']} declares {len(declared)} in-parameters, not one")
        by_position = declared[0][0]
        prop = str(op["argument_property"])
        if prop.lower() not in {x.lower() for x in cim.class_properties(cls)}:
            raise WmiError(errors.WBEM_E_INVALID_QUERY, msg=f"{cls} has no property '{prop}'")
    targets: list[dict[str, t.Any] | None] = [None] if static else list(cim.query(cls, op.get("filter"), ns))
    invocations = []
    first_error: WmiError | None = None
    for row in targets:
        key = None if row is None else cim.instance_key(cls, row)
        if by_position is not None and row is not None:
            prop = next(k for k in row if k.lower() == str(op["argument_property"]).lower())
            call_args = {by_position: row[prop]}
        try:
            # Invoke-CimMethod -CimClass (static) or -InputObject (an instance).
            _, method, _ = cim.check_method(cls, op["method"], call_args, ns, via_class=static)
            if static and method not in dnsserver.STATIC_METHODS:
                raise WmiError(errors.WBEM_E_INVALID_METHOD, f"{cls}.{method} is not a static method")
            out = cim.invoke(cls, method, call_args, row, ns)
            invocations.append({"key": key, "return_value": 0, "out": to_json(out), "hresult": None, "error": None})
        except WmiError as e:
            first_error = first_error or e
            invocations.append({"key": key, "return_value": None, "out": {}, **e.as_dict()})
    res: dict[str, t.Any] = {"op": "cim_invoke", "ok": first_error is None, "matched": len(targets),
                             "invocations": invocations}
    if first_error is not None:
        res.update(first_error.as_dict())
    return res


def _registry(host: WindowsHost, op: dict[str, t.Any]) -> dict[str, t.Any]:
    reg = host.registry
    kind = op["op"]
    if kind == "reg_get":
        values = reg.values(op["path"])
        if values is None:
            return {"op": kind, "ok": True, "exists": False, "values": {}}
        names = op.get("names")
        if names is not None:
            wanted = {str(n).lower() for n in names}
            values = {n: v for n, v in values.items() if n.lower() in wanted}
        return {"op": kind, "ok": True, "exists": True, "values": {n: v.as_dict() for n, v in values.items()}}
    if kind == "reg_set":
        prev = reg.set(op["path"], op["name"], op["type"], op["value"])
        return {"op": kind, "ok": True, "previous": prev.as_dict() if prev else None}
    return {"op": kind, "ok": True, "existed": reg.remove(op["path"], op["name"])}


#: The built-in rule as the executor recognises it through INetFwRule (its $BuiltinRuleIdentity).
BUILTIN_IDENTITY = {"SPPSVC-In-TCP": {"Direction": 1, "Protocol": 6, "LocalPorts": "1688", "serviceName": "sppsvc"}}
HR_COR_E_SYSTEM = 0x80131501  # a PowerShell `throw "text"` (RuntimeException)


def _find_rule(host: WindowsHost, name: str, group: str | None) -> ComRule | None:
    identity = BUILTIN_IDENTITY.get(name)
    found = []
    for rule in com_rules(host.firewall):
        if identity is not None:
            hit = (str(rule.get("Grouping")).startswith("@") and rule.get("Direction") == identity["Direction"]
                   and rule.get("Protocol") == identity["Protocol"] and rule.get("LocalPorts") == identity["LocalPorts"]
                   and str(rule.get("serviceName")).lower() == identity["serviceName"])
        else:
            hit = (str(rule.get("Name")).lower() == name.lower()
                   and str(rule.get("Grouping")).lower() == str(group or "").lower())
        if hit:
            found.append(rule)
    if len(found) > 1:
        raise WmiError(HR_COR_E_SYSTEM, msg=f"{len(found)} firewall rules are the rule '{name}'; remove the duplicates by hand")
    return found[0] if found else None


def _rule_state(name: str, rule: ComRule | None) -> dict[str, t.Any] | None:
    """What the executor returns for a rule (its Get-FirewallRuleState), from INetFwRule values."""
    if rule is None:
        return None
    mask = int(rule.get("Profiles"))
    protocol = {6: "TCP", 17: "UDP", 256: "Any"}.get(rule.get("Protocol"), str(rule.get("Protocol")))
    return {
        "name": name, "display_name": rule.get("Name"), "group": rule.get("Grouping"),
        "description": rule.get("Description"), "enabled": bool(rule.get("Enabled")),
        "direction": {1: "Inbound", 2: "Outbound"}[rule.get("Direction")],
        "action": {0: "Block", 1: "Allow"}[rule.get("Action")],
        "profiles": [p for p, bit in (("Domain", 1), ("Private", 2), ("Public", 4)) if mask & bit],
        "protocol": protocol,
        "local_ports": [x.strip() for x in str(rule.get("LocalPorts")).split(",") if x.strip()],
        "remote_addresses": [x.strip() for x in str(rule.get("RemoteAddresses")).split(",") if x.strip()],
        "program": rule.get("ApplicationName"), "service": rule.get("serviceName"),
    }


def _set_properties(rule: ComRule, op: dict[str, t.Any]) -> None:
    """The executor's Set-FirewallRuleProperty: protocol before ports, 'Any' as '*'."""
    if op.get("protocol") is not None:
        rule.put("Protocol", {"TCP": 6, "UDP": 17, "Any": 256}[op["protocol"]])
    if op.get("local_ports") is not None:
        rule.put("LocalPorts", ",".join(_as_list(op["local_ports"])))
    if op.get("remote_addresses") is not None:
        tokens = ["*" if a == "Any" else a for a in _as_list(op["remote_addresses"])]
        rule.put("RemoteAddresses", "*" if "*" in tokens else ",".join(tokens))
    if op.get("profiles") is not None:
        mask = 0
        for p in _as_list(op["profiles"]):
            mask = 7 if p == "Any" else mask | {"Domain": 1, "Private": 2, "Public": 4}[p]
        rule.put("Profiles", 0x7FFFFFFF if mask == 7 else mask)
    if op.get("enabled") is not None:
        rule.put("Enabled", bool(op["enabled"]))


def _firewall(host: WindowsHost, op: dict[str, t.Any]) -> dict[str, t.Any]:
    kind = op["op"]
    name = op["name"]
    group = op.get("group")
    if kind == "firewall_get":
        state = _rule_state(name, _find_rule(host, name, group))
        return {"op": kind, "ok": True, "exists": state is not None, "rule": state}
    if kind == "firewall_remove":
        existed = _find_rule(host, name, group) is not None
        if existed:
            namesakes = [r for r in com_rules(host.firewall) if str(r.get("Name")).lower() == name.lower()]
            if len(namesakes) > 1:
                raise WmiError(HR_COR_E_SYSTEM, msg=f"Another firewall rule is also named '{name}'; nothing was removed")
            com_remove(host.firewall, name)
        return {"op": kind, "ok": True, "existed": existed}
    if kind == "firewall_set":
        rule = _find_rule(host, name, group)
        if rule is None:
            raise WmiError(errors.HR_ERROR_FILE_NOT_FOUND, msg=f"No firewall rule '{name}' was found")
        _set_properties(rule, op)
        return {"op": kind, "ok": True, "rule": _rule_state(name, rule)}
    if _find_rule(host, name, group) is not None:
        raise WmiError(HR_ALREADY_EXISTS, msg=f"The firewall rule '{name}' already exists")
    rule = ComRule.new()
    rule.put("Name", name)
    rule.put("Grouping", group)
    if op.get("description") is not None:
        rule.put("Description", op["description"])
    rule.put("Direction", {"Inbound": 1, "Outbound": 2}[op.get("direction") or "Inbound"])
    rule.put("Action", {"Block": 0, "Allow": 1}[op.get("action") or "Allow"])
    _set_properties(rule, {"protocol": "TCP", **op})
    if op.get("program") is not None:
        # [Environment]::ExpandEnvironmentVariables, as the executor does
        rule.put("ApplicationName", re.sub(r"(?i)%SystemRoot%", r"C:\\Windows", str(op["program"])))
    if op.get("service") is not None:
        rule.put("serviceName", op["service"])
    com_add(host.firewall, rule)
    return {"op": kind, "ok": True, "rule": _rule_state(name, _find_rule(host, name, group))}


def _service(host: WindowsHost, op: dict[str, t.Any]) -> dict[str, t.Any]:
    name = str(op["name"]).lower()
    svc = host.services.get(name)
    if op["op"] == "service_get":
        if svc is None:
            return {"op": "service_get", "ok": True, "exists": False, "status": None, "start_type": None}
        return {"op": "service_get", "ok": True, "exists": True, "status": svc.status, "start_type": svc.start_type}
    if svc is None:
        raise WmiError(HR_SERVICE_DOES_NOT_EXIST, msg=f"Cannot find any service with service name '{op['name']}'.")
    if svc.refuse_restart:
        # Restart-Service stops first; the SCM refuses the stop (models.services), nothing changes.
        raise WmiError(errors.E_ACCESSDENIED, msg=(
            f"Service '{svc.display_name} ({svc.name})' cannot be stopped due to the following error: "
            f"Cannot open {svc.name} service on computer '.'."))
    svc = host.restart_service(name)
    return {"op": "service_restart", "ok": True, "status": svc.status}


def _adba(host: WindowsHost, op: dict[str, t.Any], secrets: Secrets) -> dict[str, t.Any]:
    """The ADSI side of slmgr.vbs /ao-list and /del-ao and the installation ID of
    /ad-activation-get-iid, for the computer's forest (models/adds.py)."""
    kind = op["op"]
    if not host.domain_joined:
        raise WmiError(adds.HR_ERROR_NO_SUCH_DOMAIN, f"{host.name} is not joined to a domain")
    forest = host.world.forest
    if kind == "ad_activation_objects":
        objs = sorted(forest.objects.values(), key=lambda o: o.name.lower())
        return {"op": kind, "ok": True, "domain": forest.domain, "container": forest.container_dn,
                "objects": [{"name": o.name, "dn": o.dn, "sku_id": o.sku_id, "pid": o.pid,
                             "partial_product_key": o.partial_key} for o in objs]}
    if kind == "ad_installation_id":
        # The same checks as the CIM method (Windows 8+ only, 0x80041030 before).
        CimSurface(host).check_method("SoftwareLicensingService", "GenerateActiveDirectoryOfflineActivationId",
                                      {"ProductKey": ""})
        return {"op": kind, "ok": True,
                "installation_id": adds.installation_id(host, secrets.resolve(op["product_key"]))}
    existed = forest.remove(str(op["dn"]))
    if existed:
        host.log({"op": kind, "dn": op["dn"]})
    return {"op": kind, "ok": True, "existed": existed}
