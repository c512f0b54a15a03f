# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HRESULTs of the licensing API: symbol, plain explanation and remedy.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Every HRESULT the collection shows goes through :func:`explain`, which renders
``0xC004F038 (SL_E_VL_NOT_ENOUGH_COUNT): <explanation>``. Codes that are not in
the table are still rendered with their facility, e.g.
``0x80070490 (FACILITY_WIN32 error 1168): no explanation is known ...``.

Sources (tags of docs/reference/licensing-api.md section 4): symbol names from
the SDK header [SLERROR.H]; meanings from the texts slmgr.vbs and ospp.vbs print
[SLMGR10], [SLERRXML]; causes and actions from Microsoft's "Resolve Windows
activation error codes" [WSD-ERR] and the support articles named per row [SUP].
The WBEM_E_* codes are the ones the executor protocol names
(docs/executor-protocol.md, from wbemcli.h); E_INVALIDARG is what Invoke-CimMethod
gives for a parameter or method name the class does not have (PowerShell's
CimInvokeCimMethod.cs), before WMI is called.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t


@dataclasses.dataclass(frozen=True)
class HResultInfo:
    """What the collection knows about one HRESULT."""

    code: int
    #: The SDK symbol, or None when the reference names none (then the facility is shown).
    symbol: str | None
    explanation: str
    remedy: str
    source: str


def _e(code: int, symbol: str | None, explanation: str, remedy: str, source: str) -> tuple[int, HResultInfo]:
    return code, HResultInfo(code, symbol, explanation, remedy, source)


#: The known HRESULTs (unsigned 32-bit) and what they mean.
HRESULTS: dict[int, HResultInfo] = dict(
    [
        # --- Software Licensing (facility ITF, 0xC004xxxx) -------------------------------
        _e(0xC004F074, "SL_E_VL_BINDING_SERVICE_UNAVAILABLE",
           "no KMS host could be contacted",
           "check the client's Application log event 12288 and the host's event 12290; make sure sppsvc runs on "
           "the host, TCP 1688 is open (Test-NetConnection -Port 1688), no stale _vlmcs._tcp SRV record points "
           "elsewhere, and the clocks are within 4 hours (w32tm /resync)",
           "[SLERROR.H] [WSD-ERR] [SUP error-0xc004f074-activate-windows]"),
        _e(0xC004F038, "SL_E_VL_NOT_ENOUGH_COUNT",
           "the KMS host does not yet count enough clients to activate this product "
           "(25 for Windows client, 5 for Windows Server and Office)",
           "add clients until the host's current count reaches the threshold (check it with license_info on the "
           "host); clones sharing one CMID count once, so rearm them",
           "[SLERROR.H] [WSD-ERR] [SUP activation-error-0xc004cf038-insufficient-kms-host-pool-count]"),
        _e(0xC004F039, "SL_E_VL_BINDING_SERVICE_NOT_ENABLED",
           "the KMS host did not respond: the Key Management Service is not enabled there",
           "check the network path and the firewall for TCP 1688 to the host",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004F041, "SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED",
           "the KMS host is not activated",
           "activate the KMS host (online or by phone) before clients can use it",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004F042, "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH",
           "the KMS host's key cannot activate this product",
           "point the client at a host whose KMS host key covers this product, or install a newer host key and "
           "the host update it needs",
           "[SLERROR.H] [WSD-ERR] [SUP error-0xc004f015-activate-windows-10]"),
        # --- Active Directory-based activation ([SLERROR.H]; ADBA docs in windows-itpro-docs) ----
        _e(0xC004F081, "SL_E_VL_AD_AO_NOT_FOUND",
           "no Active Directory activation object could be found for this product (or it was invalid)",
           "create an activation object for a KMS host key (CSVLK) that covers this product "
           "(ad_activation_object), or allow KMS as well (kms_client activation_type=all)",
           "[SLERROR.H]"),
        _e(0xC004F082, "SL_E_VL_AD_AO_NAME_TOO_LONG",
           "the name given for the Active Directory activation object is too long",
           "choose a shorter activation object name (at most 64 characters)",
           "[SLERROR.H]"),
        _e(0xC004F083, "SL_E_VL_AD_SCHEMA_VERSION_NOT_SUPPORTED",
           "the Active Directory schema does not support Active Directory-based activation",
           "extend the forest schema to Windows Server 2012 or later (adprep /forestprep)",
           "[SLERROR.H]"),
        _e(0xC004F302, "SL_E_TKA_SILENT_ACTIVATION_FAILURE",
           "token-based activation failed: no certificate on the system can activate the product",
           "install the token-based activation certificates, or allow another activation type",
           "[SLERROR.H]"),
        _e(0x8007054B, "ERROR_NO_SUCH_DOMAIN",
           "the specified domain either does not exist or could not be contacted",
           "run the task on a computer that is joined to the forest's domain and can reach a domain controller",
           "[WINERROR.H]"),
        _e(0x80072030, "ERROR_DS_NO_SUCH_OBJECT",
           "there is no such object in the directory",
           "check the distinguished name; the forest schema may not have the activation objects container "
           "(Windows Server 2012 schema or later is needed)",
           "[WINERROR.H] [SLMGR10 HR_ERROR_DS_NO_SUCH_OBJECT]"),
        _e(0x80071392, "ERROR_OBJECT_ALREADY_EXISTS",
           "the object already exists",
           "choose another activation object name, or remove the existing object first",
           "[WINERROR.H]"),
        _e(0xC004F050, "SL_E_INVALID_PRODUCT_KEY",
           "the Software Licensing Service reported that the product key is invalid",
           "check the key for typos (a pasted em-dash counts), make sure it is for this edition and not a beta "
           "key; a KMS host may need an update to accept a newer host key",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004F015, "SL_E_PRODUCT_SKU_NOT_INSTALLED",
           "the license for this product is not installed on the KMS host",
           "install the KMS host key that covers the client's version and the host update that brings its "
           "license (host event 12290 names the client)",
           "[SLERROR.H] [WSD-ERR] [SUP error-0xc004f015-activate-windows-10]"),
        _e(0xC004F069, "SL_E_MISMATCHED_PRODUCT_SKU",
           "the product SKU for this key was not found on the machine",
           "install the product (or its volume license pack) that the key is for, or use the key for the "
           "installed edition",
           "[SLERROR.H] [3P cause]"),
        _e(0xC004F00F, "SL_E_OUT_OF_TOLERANCE",
           "the hardware changed beyond the tolerance of the activation",
           "MAK: activate again during the grace period; KMS: restart or activate again",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004F035, "SL_E_VL_NOT_WINDOWS_SLP",
           "a volume license key needs a qualifying operating system (OEM BIOS marker) on this machine",
           "use a MAK or retail key, or activate by phone",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004F014, "SL_E_PKEY_NOT_INSTALLED",
           "no product key is installed for this product",
           "install a KMS client setup key (GVLK) or a MAK",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004F009, "SL_E_GRACE_TIME_EXPIRED",
           "the grace period expired, so the product is in notification mode",
           "activate the product",
           "[SLERROR.H] [WSD-ERR] [MS-SLP]"),
        _e(0xC004F06C, "SL_E_VL_INVALID_TIMESTAMP",
           "the KMS request timestamp is invalid: the clocks of client and host differ too much",
           "synchronise the clocks (w32tm /resync) on client and host",
           "[SLERROR.H] [WSD-ERR] [SUP error-0xc004f074-activate-windows]"),
        _e(0xC004F056, "SL_E_VL_MACHINE_NOT_BOUND",
           "the product has not been activated through KMS yet",
           "activate the client against a KMS host",
           "[SLERROR.H] [3P]"),
        _e(0xC004F025, "SL_E_LUA_ACCESSDENIED",
           "the operation needs administrative rights",
           "connect as an administrator (elevated)",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004F200, "SL_E_NOT_GENUINE",
           "the Software Licensing Service found this installation non-genuine",
           "reinstall from genuine media or contact Microsoft",
           "[SLERROR.H] [SLMGR10]"),
        _e(0xC004E003, "SL_E_EVALUATION_FAILED",
           "license evaluation failed",
           "no documented cause; check the Application log and reinstall the product key",
           "[SLERROR.H]; cause UNCONFIRMED"),
        _e(0xC004D307, None,
           "the maximum number of rearms has been used",
           "reinstall the operating system or activate it",
           "[SLMGR10]; no symbol in the reference"),
        # --- Microsoft activation service (CHPA) ---------------------------------------
        _e(0xC004C008, "SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED",
           "the activation server refused the key: it has used all its activations "
           "(a KMS host key activates 6 hosts, 10 times each)",
           "ask the Volume Licensing Service Center for more activations",
           "[SLERROR.H] [WSD-PLAN] [SUP activation-error-0xc004c008-product-key-not-used] [SEED]"),
        _e(0xC004C003, "SL_E_CHPA_PRODUCT_KEY_BLOCKED",
           "the activation server blocked this product key",
           "obtain a new MAK or KMS host key",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004C020, "SL_E_CHPA_DMAK_LIMIT_EXCEEDED",
           "the MAK has reached its activation limit",
           "request more activations for the MAK",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004C021, "SL_E_CHPA_DMAK_EXTENSION_LIMIT_EXCEEDED",
           "the MAK has reached its extension limit",
           "request more activations for the MAK",
           "[SLERROR.H] [WSD-ERR]"),
        _e(0xC004C001, "SL_E_CHPA_PRODUCT_KEY_OUT_OF_RANGE",
           "the activation server found the product key invalid",
           "verify the MAK",
           "[SLERROR.H] [WSD-ERR]"),
        # --- informational (success severity) -----------------------------------------
        _e(0x4004F00C, None,
           "the product runs in its grace period (informational)",
           "activate the product before the grace period ends",
           "[OSPP15]; no symbol in the reference"),
        _e(0x4004F040, None,
           "the product is activated; verify the use rights (informational)",
           "none needed",
           "[OSPP15]; no symbol in the reference"),
        _e(0x4004FC04, None,
           "the product is licensed for a limited time (informational)",
           "none needed until the validity period ends",
           "[OSPP15]; no symbol in the reference"),
        # --- Win32 errors surfaced as HRESULTs (facility WIN32) ------------------------
        _e(0x8007232B, "DNS_ERROR_RCODE_NAME_ERROR",
           "no _vlmcs._tcp SRV record was found in DNS, so no KMS host could be discovered",
           "check that the KMS host publishes its record (DisableDnsPublishing=0), the client's DNS suffix and "
           "search list, or set the host explicitly (kms_client host)",
           "[WSD-ERR] [SUP activation-error-0x8007232b-dns-name-does-not-exist]"),
        _e(0x8007232A, "DNS_ERROR_RCODE_SERVER_FAILURE",
           "the DNS server failed while looking up the KMS host",
           "fix the client's DNS (UDP and TCP 53) or set the KMS host explicitly",
           "[WSD-ERR] [SUP activation-error-0x8007232a-dns-server-failure]"),
        _e(0x8007251D, "DNS_INFO_NO_RECORDS",
           "DNS has no records for the KMS lookup",
           "publish the _vlmcs._tcp SRV record or set the KMS host explicitly",
           "[WSD-ERR] [3P]"),
        _e(0x8007007B, "ERROR_INVALID_NAME",
           "the name used for the KMS lookup is not valid (often a workgroup client without a primary DNS suffix)",
           "give the client a primary DNS suffix or a KMS lookup domain, or set the KMS host explicitly",
           "[WSD-ERR] [3P]"),
        _e(0x800706BA, "RPC_S_SERVER_UNAVAILABLE",
           "the KMS host's RPC endpoint could not be reached",
           "open TCP 1688 on the host's firewall and remove stale SRV records",
           "[WSD-ERR]"),
        _e(0x80070005, "E_ACCESSDENIED",
           "access is denied: the operation needs administrative rights",
           "connect as an administrator (elevated)",
           "[WSD-ERR]"),
        _e(0x800700B7, "ERROR_ALREADY_EXISTS",
           "the object already exists (for a firewall operation: a rule with this name and group)",
           "manage the existing rule instead of creating it",
           "winerror.h, HRESULT_FROM_WIN32(183)"),
        _e(0x80131501, "COR_E_SYSTEM",
           "a PowerShell error on the target with no more specific code; on Windows 7 / Server 2008 R2 "
           "this is how a command the OS does not have (a NetSecurity cmdlet) fails",
           "read Windows' message; check that the target has what the module needs (PowerShell 5.1)",
           "PowerShell/PowerShell src/System.Management.Automation/utils/RuntimeException.cs (a SystemException)"),
        # --- WMI (facility ITF, 0x8004xxxx), as named by the executor protocol --------
        _e(0x80041010, "WBEM_E_INVALID_CLASS",
           "the WMI class does not exist on this machine",
           "for OfficeSoftwareProtection* this means Office Software Protection Platform is not installed",
           "docs/executor-protocol.md (wbemcli.h)"),
        _e(0x80041017, "WBEM_E_INVALID_QUERY",
           "the WMI query is invalid (bad filter or a property this Windows version does not have)",
           "report this as a bug of the collection",
           "docs/executor-protocol.md (wbemcli.h)"),
        _e(0x80041030, "WBEM_E_INVALID_METHOD",
           "WMI has no such method on this class on this Windows version (a call on an instance reaches WMI "
           "before anything checks the name)",
           "the operation needs a newer Windows version; report it as a bug of the collection if the version "
           "should have the method",
           "docs/executor-protocol.md (wbemcli.h)"),
        _e(0x80041008, "WBEM_E_INVALID_PARAMETER",
           "WMI rejected a method parameter: a required one is missing or its value is out of range",
           "check the values given to the task",
           "docs/executor-protocol.md (wbemcli.h)"),
        # Invoke-CimMethod checks argument names against the class definition before calling WMI and
        # throws an ArgumentException (HResult COR_E_ARGUMENT = E_INVALIDARG): PowerShell/PowerShell
        # src/Microsoft.Management.Infrastructure.CimCmdlets/CimInvokeCimMethod.cs
        # (CreateParametersCollection: InvalidMethodParameter / InvalidMethod), CimWriteError.cs. The
        # licensing provider answers bad values (an interval outside 15..43200) with the same code.
        _e(0x80070057, "E_INVALIDARG",
           "an argument was rejected: either Invoke-CimMethod found no such parameter (or method) in the class "
           "definition on this Windows version and called nothing, or the licensing service refused a value "
           "(for example an interval outside 15..43200 minutes or an empty name)",
           "check the values given to the task; if the message says 'Can not find Parameter' or 'Can not find "
           "method', the Windows version lacks what the collection called: report it as a bug of the collection",
           "docs/executor-protocol.md (CimInvokeCimMethod.cs, winerror.h)"),
        _e(0x8004100E, "WBEM_E_INVALID_NAMESPACE",
           "the WMI namespace does not exist on this machine (root/MicrosoftDNS exists only on a Windows DNS server)",
           "run the task against the DNS server, or use method rfc2136 from the control node",
           "wbemcli.h"),
        _e(0x8004100C, "WBEM_E_NOT_SUPPORTED",
           "the WMI provider does not support this operation on this machine",
           "use another way to reach the same result, or a newer Windows version",
           "wbemcli.h"),
        _e(0x80041005, "WBEM_E_TYPE_MISMATCH",
           "a WMI method parameter has the wrong type",
           "report this as a bug of the collection",
           "wbemcli.h"),
    ]
)

#: Facility numbers of an HRESULT (winerror.h names), for codes not in :data:`HRESULTS`.
FACILITIES: dict[int, str] = {
    0: "FACILITY_NULL",
    1: "FACILITY_RPC",
    2: "FACILITY_DISPATCH",
    3: "FACILITY_STORAGE",
    4: "FACILITY_ITF",
    7: "FACILITY_WIN32",
    8: "FACILITY_WINDOWS",
    9: "FACILITY_SECURITY",
    10: "FACILITY_CONTROL",
    11: "FACILITY_CERT",
    12: "FACILITY_INTERNET",
}

_HEX_RE = re.compile(r"^(?:0x)?([0-9a-f]{1,8})$", re.IGNORECASE)


def to_code(value: int | str) -> int:
    """Normalise an HRESULT given as int (signed or unsigned) or hex string to unsigned 32-bit.

    ``-1073418184``, ``3221549112``, ``"0xC004F038"`` and ``"c004f038"`` all give
    ``0xC004F038``. Raises ``ValueError`` for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"not an HRESULT: {value!r}")
    if isinstance(value, int):
        if not -(2**31) <= value <= 0xFFFFFFFF:
            raise ValueError(f"not a 32-bit HRESULT: {value}")
        return value & 0xFFFFFFFF
    m = _HEX_RE.match(str(value).strip())
    if m:
        return int(m.group(1), 16)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return to_code(int(text))
    raise ValueError(f"not an HRESULT: {value!r}")


def hex_code(code: int) -> str:
    """The ``0x%08X`` form Windows tools print."""
    return f"0x{code & 0xFFFFFFFF:08X}"


def facility(code: int) -> int:
    """The 11-bit facility field of an HRESULT."""
    return (code >> 16) & 0x7FF


def lookup(code: int | str) -> HResultInfo | None:
    """The table entry for ``code``, or None when it is unknown."""
    return HRESULTS.get(to_code(code))


def symbol(code: int | str) -> str:
    """The symbol for ``code``; for unknown codes a facility description such as
    ``FACILITY_WIN32 error 1168`` or ``FACILITY_ITF code 0xF999``."""
    c = to_code(code)
    info = HRESULTS.get(c)
    if info and info.symbol:
        return info.symbol
    fac = facility(c)
    name = FACILITIES.get(fac, f"facility {fac}")
    if fac == 7:
        return f"{name} error {c & 0xFFFF}"
    return f"{name} code 0x{c & 0xFFFF:04X}"


def explain(code: int | str, windows_message: str | None = None) -> str:
    """Render ``0xC004F038 (SL_E_VL_NOT_ENOUGH_COUNT): <plain explanation>``.

    For an unknown code the explanation is the message Windows gave when there is
    one, else a sentence saying none is known. Never raises for a 32-bit value.
    """
    c = to_code(code)
    info = HRESULTS.get(c)
    if info:
        text = info.explanation
    elif windows_message and windows_message.strip():
        text = windows_message.strip().rstrip(".")
    else:
        text = "no explanation is known to the collection; run 'slui.exe 0x2a " + hex_code(c) + "' on the host"
    return f"{hex_code(c)} ({symbol(c)}): {text}"


def describe(code: int | str, windows_message: str | None = None) -> dict[str, t.Any]:
    """A JSON-ready description: ``code`` (int), ``hex``, ``symbol``, ``explanation``,
    ``remedy`` (None when unknown), ``message`` (the :func:`explain` line) and
    ``windows_message`` (what Windows said, possibly localized, or None)."""
    c = to_code(code)
    info = HRESULTS.get(c)
    return {
        "code": c,
        "hex": hex_code(c),
        "symbol": symbol(c),
        "explanation": info.explanation if info else (windows_message or None),
        "remedy": info.remedy if info else None,
        "message": explain(c, windows_message),
        "windows_message": windows_message,
    }


def is_failure(code: int) -> bool:
    """True when the severity bit is set (a failure, as opposed to success/informational)."""
    return bool(code & 0x80000000)
