"""What ``cscript //nologo ospp.vbs /dstatus | /dstatusall | /dcmid`` prints on a simulated host.

A pure renderer over CIM property dicts, like :mod:`winlab.surfaces.slmgr`.
Every line is one ``WScript.Echo`` (text + CRLF); the script's exit code is 0
(``WScript.Quit`` without a value) whatever it printed.

Sources: [OSPP15] (``ospp.vbs`` "Version Info: 2013 1.0 (RTM)": ``Main``,
``pProcessing``, ``performLicAction``, ``quitExit``, ``isWin7OS``) and
[SLERRXML] (the ``slerror.xml`` beside it, for ERROR DESCRIPTION). The labels
are hard-coded English constants, so ja-JP hosts print the same labels
(licensing-api.md §6.3); only dates follow the system locale.

Which classes a run reads ([OSPP15] ``isWin7OS``/``setWmiClasses``): on Windows
7 / Server 2008 R2 (6.1) the ``OfficeSoftwareProtection*`` classes, on 6.2+ the
``SoftwareLicensing*`` classes. :func:`ospp_classes` returns the pair; the
dispatcher queries them and passes the instances in.

Choices where the sources are silent (UNCONFIRMED in licensing-api.md):

* Office 2010 (``Office14\\OSPP.VBS``): the script was not retrieved. The lab
  assumes the OSPP15 labels, the Office 2010 Application ID
  ``59a52881-a989-479d-af46-f275c6370663`` instead of ``0ff1ce15-…``, the
  ``OfficeSoftwareProtection*`` classes on every OS (Office 2010 always uses
  osppsvc [3P]), and none of the Windows 8+ lines (Activation Type
  Configuration, AD activation, KMS Lookup Domain), which that script predates.
* Office 2016 and later (``Office16``): real outputs [3P] show a
  ``PRODUCT ID:`` line before ``SKU ID:`` and a ``BETA EXPIRATION:`` line even
  when no expiry is set (``01/01/1601``). The lab prints ``PRODUCT ID:`` with the
  product's ``ProductKeyID2`` (the short product ID, e.g. ``00339-10000-00000-AA680``;
  empty when the model gives none) and ``BETA EXPIRATION:`` always, the date
  in the locale's VBScript format (en-US ``1/1/1601``).
* An unsupported command shows a message box (``WshShell.Popup``) in the real
  script, which a WinRM session never sees; the lab prints only the console
  lines (the Processing header, then the Exiting footer).
* The ERROR DESCRIPTION table below holds the [SLERRXML] texts for the codes
  the lab's licensing model can produce; any other code prints the script's
  own fallback ``Run the following: cscript ospp.vbs /ddescr:0x<code>``.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from winlab.surfaces.slmgr import NotSimulated, cim_datetime, vbs_date, vbs_hex, vbs_str, version_tuple

OFFICE_APP_ID = "0ff1ce15-a989-479d-af46-f275c6370663"  # [OSPP15] const OfficeAppId (Office 2013+)
OFFICE14_APP_ID = "59a52881-a989-479d-af46-f275c6370663"  # Office 2010 [3P], licensing-api.md §2

MSG_SEPERATE = "---------------------------------------"  # [OSPP15] spelling of the constant name kept
MSG_PROCESSING = "---Processing--------------------------"
MSG_EXIT = "---Exiting-----------------------------"
MSG_NOKEYSINSTALLED = "<No installed product keys detected>"
MSG_CMID = "Client Machine ID (CMID): "
MSG_PARTIALKEY = "Last 5 characters of installed product key: "
MSG_INFO_ONLY = " (for information purposes only as the status is licensed)"
MSG_DEFAULT_PORT = "1688"

# [OSPP15] MSG_LICSTATUS + MSG_<status>: "LICENSE STATUS: " + " ---LICENSED--- " (two spaces, one trailing).
_STATUS = {
    0: " ---UNLICENSED--- ", 1: " ---LICENSED--- ", 2: " ---OOB_GRACE--- ", 3: " ---OOT_GRACE--- ",
    4: " ---NON_GENUINE_GRACE--- ", 5: " ---NOTIFICATIONS--- ", 6: " ---EXTENDED GRACE--- ",
}
_STATUS_UNKNOWN = " ---UNKNOWN--- "

#: [SLERRXML] <err0x...> texts (verbatim, including the double space in 0xC004F039).
SLERROR_TEXT: dict[str, str] = {
    "0xC004C003": "The activation server determined the specified product key has been blocked.",
    "0xC004C008": "The activation server reported that the product key has exceeded its unlock limit.",
    "0xC004C020": "The activation server reported that the Multiple Activation Key has exceeded its limit.",
    "0xC004F009": "The Software Licensing Service reported that the grace period expired.",
    "0x4004F00C": "The Software Licensing Service reported that the application is running within the "
                  "valid grace period.",
    "0xC004F00F": "The Software Licensing Service reported that the hardware ID binding is beyond the "
                  "level of tolerance.",
    "0xC004F014": "The Software Licensing Service reported that the product key is not available.",
    "0xC004F015": "The Software Licensing Service reported that the license is not installed.",
    "0xC004F035": "The Software Licensing Service reported that the computer could not be activated with a "
                  "Volume license product key. Volume-licensed systems require upgrading from a qualifying "
                  "operating system. Please contact your system administrator or use a different type of key.",
    "0xC004F038": "The Software Licensing Service reported that the product could not be activated. The count "
                  "reported by your Key Management Service (KMS) is insufficient. Please contact your system "
                  "administrator.",
    "0xC004F039": "The Software Licensing Service reported that the product could not be activated.  The Key "
                  "Management Service (KMS) is not enabled.",
    "0x4004F040": "The Software Licensing Service reported that the product was activated but the owner "
                  "should verify the Product Use Rights.",
    "0xC004F041": "The Software Licensing Service determined that the Key Management Service (KMS) is not "
                  "activated. KMS needs to be activated. Please contact system administrator.",
    "0xC004F042": "The Software Licensing Service determined that the specified Key Management Service (KMS) "
                  "cannot be used.",
    "0xC004F050": "The Software Licensing Service reported that the product key is invalid.",
    "0xC004F056": "The Software Licensing Service reported that the product could not be activated using the "
                  "Key Management Service (KMS).",
    "0xC004F069": "The Software Licensing Service reported that the product SKU is not found.",
    "0xC004F06C": "The Software Licensing Service reported that the product could not be activated. The Key "
                  "Management Service (KMS) determined that the request timestamp is invalid.",
    "0xC004F074": "The Software Licensing Service reported that the product could not be activated. No Key "
                  "Management Service (KMS) could be contacted. Please see the Application Event Log for "
                  "additional information.",
    "0xC004F200": "The Software Licensing Service reported that current state is not genuine.",
    "0x4004FC04": "The Software Licensing Service reported that the application is running within the "
                  "timebased validity period.",
}

#: Commands [OSPP15] ``Main`` knows that the lab does not render (they change state, read the
#: event log, restart services or show the help page).
NOT_SIMULATED = frozenset({
    "/act", "/dinstid", "/dtokils", "/remhst", "/stokflag", "/ctokflag", "/dtokcerts", "/ckms-domain",
    "/dhistoryacterr", "/dhistorykms", "/puserops", "/duserops", "/osppsvcrestart", "/osppsvcauto",
    "/regmof", "/rearm",
})
_VALUE_COMMANDS = ("/skms-domain", "/actype", "/inpkey", "/unpkey", "/inslic", "/actcid", "/sethst", "/setprt",
                   "/ddescr", "/rtokil", "/tokact", "/cachst", "/rearm")
#: The commands this renderer answers.
SIMULATED_COMMANDS = ("/dstatus", "/dstatusall", "/dcmid", "/version", "/help")


def is_win7(os_version: str) -> bool:
    """[OSPP15] ``isWin7OS``: Windows 7 or Server 2008 R2 (version 6.1)."""
    return version_tuple(os_version) == (6, 1)


def ospp_classes(office_version: str, os_version: str) -> tuple[str, str]:
    """(service class, product class) the ``ospp.vbs`` of ``office_version`` reads on this OS."""
    if office_version == "2010" or is_win7(os_version):
        return "OfficeSoftwareProtectionService", "OfficeSoftwareProtectionProduct"
    return "SoftwareLicensingService", "SoftwareLicensingProduct"


def render_ospp(
        args: list[str], service: dict[str, t.Any], products: list[dict[str, t.Any]], os_version: str,
        now: dt.datetime, *, office_version: str = "2016", locale: str = "en-US") -> tuple[int, str]:
    """Render ``cscript //nologo ospp.vbs <args>`` for one Office installation.

    ``service`` / ``products``: instances of the classes :func:`ospp_classes`
    names (all products; the script filters on the Office Application ID
    itself); ``os_version``: ``Win32_OperatingSystem.Version``; ``now`` is the
    host clock (unused by the read-only commands, kept for symmetry with
    slmgr); ``office_version``: ``2010`` .. ``2024`` (2016+ share ``Office16``);
    ``locale`` only changes how dates print.

    Returns ``(0, text)`` with CRLF line endings. Raises :class:`NotSimulated`
    for commands that change state, read event logs, restart services, or
    name a remote machine.
    """
    del now  # read-only commands print no computed dates
    lines: list[str] = []
    if not args:
        # [OSPP15]: no argument opens ospp.htm in a browser window and quits before Main runs.
        return 0, ""
    command = args[0].lower()
    if len(args) > 1:
        raise NotSimulated("ospp.vbs against a remote machine")
    if command in NOT_SIMULATED or any(command.startswith(c + ":") for c in _VALUE_COMMANDS):
        raise NotSimulated(f"ospp.vbs {command.split(':')[0]}")
    lines += [MSG_PROCESSING, MSG_SEPERATE]
    win8 = office_version != "2010" and not is_win7(os_version)
    if command == "/dcmid":
        cmid = vbs_str(service.get("ClientMachineID"))
        lines.append(MSG_CMID + (cmid if cmid else "Not found."))
    elif command in ("/dstatus", "/dstatusall"):
        lines += _dstatus(command, service, products, win8=win8, office_version=office_version,
                          locale=locale)
    # Anything else ("/version", "/help", unsupported text) is a message box or a browser
    # window in the real script; the console shows only the footer.
    lines += [MSG_SEPERATE, MSG_EXIT]
    return 0, "".join(line + "\r\n" for line in lines)


def _dstatus(command: str, service: dict[str, t.Any], products: list[dict[str, t.Any]], *, win8: bool,
             office_version: str, locale: str) -> list[str]:
    app_id = OFFICE14_APP_ID if office_version == "2010" else OFFICE_APP_ID
    office16 = office_version not in ("2010", "2013")
    out: list[str] = []
    installed = 0
    ad_activated = False  # [OSPP15] isAdActivated is a global: once set it stays set for later products
    for p in products:
        if vbs_str(p.get("ApplicationID", p.get("ApplicationId"))).lower() != app_id:
            continue
        ppk = vbs_str(p.get("PartialProductKey"))
        if ppk:
            installed += 1
        is_kms = "KMS" in vbs_str(p.get("Description")).upper()
        show = command == "/dstatusall" or vbs_str(p.get("ProductKeyID")) != ""
        if not show:
            continue
        if office16:
            out.append("PRODUCT ID: " + vbs_str(p.get("ProductKeyID2")))
        out.append("SKU ID: " + vbs_str(p.get("ID")))
        out.append("LICENSE NAME: " + vbs_str(p.get("Name")))
        out.append("LICENSE DESCRIPTION: " + vbs_str(p.get("Description")))
        if command == "/dstatus":
            end = cim_datetime(p.get("EvaluationEndDate"))
            if end is not None:
                out.append("BETA EXPIRATION: " + vbs_date(end, locale))
            elif office16:
                out.append("BETA EXPIRATION: " + vbs_date(dt.datetime(1601, 1, 1), locale))
        status = p.get("LicenseStatus")
        out.append("LICENSE STATUS: " + (_STATUS.get(status, _STATUS_UNKNOWN) if isinstance(status, int)
                                         else _STATUS_UNKNOWN))
        reason = p.get("LicenseStatusReason")
        code = vbs_hex(reason)
        if reason is not None and code != "0":
            if p.get("LicenseStatus") != 1:
                out.append(f"ERROR CODE: 0x{code}")
            else:
                out.append(f"ERROR CODE: 0x{code}{MSG_INFO_ONLY}")
            text = SLERROR_TEXT.get(f"0x{code}")
            out.append("ERROR DESCRIPTION: " + (text or f"Run the following: cscript ospp.vbs /ddescr:0x{code}"))
        grace = int(p.get("GracePeriodRemaining") or 0)
        if grace != 0:
            # [OSPP15]: Int() of the day count, two spaces before "(".
            out.append(f"REMAINING GRACE: {grace // 1440} days  ({grace} minute(s) before expiring)")
        if ppk:
            out.append(MSG_PARTIALKEY + ppk)
            if is_kms:
                if win8:
                    kind = {1: "AD", 2: "KMS", 3: "Token"}.get(p.get("VLActivationTypeEnabled") or 0, "ALL")
                    out.append("Activation Type Configuration: " + kind)
                    if p.get("VLActivationType") == 1:
                        ad_activated = True
                        out.append("Most recent successful activation client information: AD")
                        out.append("\tActivation Object name: " + vbs_str(p.get("ADActivationObjectName")))
                        out.append("\tAO DN: " + vbs_str(p.get("ADActivationObjectDN")))
                        out.append("\tAO extended PID: " + vbs_str(p.get("ADActivationCsvlkPid")))
                        out.append("\tAO activation ID: " + vbs_str(p.get("ADActivationCsvlkSkuId")))
                if not ad_activated:
                    out += _kms_lines(p, service, win8=win8)
        out.append(MSG_SEPERATE)
    if installed == 0:
        out += [MSG_NOKEYSINSTALLED, MSG_SEPERATE]
    return out


def _kms_lines(p: dict[str, t.Any], service: dict[str, t.Any], *, win8: bool) -> list[str]:
    out: list[str] = []
    name = vbs_str(p.get("DiscoveredKeyManagementServiceMachineName"))
    port = p.get("DiscoveredKeyManagementServiceMachinePort")
    if not name or not port:
        out.append("\tDNS auto-discovery: KMS name not available")
    else:
        out.append(f"\tKMS machine name from DNS: {name}:{port}")
    kms = vbs_str(p.get("KeyManagementServiceMachine"))
    if kms:
        kport = p.get("KeyManagementServicePort")
        out.append(f"\tKMS machine registry override defined: {kms}:"
                   + (MSG_DEFAULT_PORT if kport == 0 else vbs_str(kport)))
    out.append(f"\tActivation Interval: {vbs_str(p.get('VLActivationInterval'))} minutes")
    out.append(f"\tRenewal Interval: {vbs_str(p.get('VLRenewalInterval'))} minutes")
    caching = service.get("KeyManagementServiceHostCaching") is True
    out.append("\tKMS host caching: " + ("Enabled" if caching else "Disabled"))
    if win8 and vbs_str(p.get("KeyManagementServiceLookupDomain")) != "":
        out.append("\tKMS Lookup Domain: " + vbs_str(p.get("KeyManagementServiceLookupDomain")))
    return out
