"""Windows services the lab simulates: ``sppsvc`` and, with OSPP, ``osppsvc``.

sppsvc is "Automatic (Delayed Start)" on Windows 7+ and runs on demand; the lab keeps
it Running [LAB]. A restart re-reads the registry-backed KMS settings, which is how
changes written straight to the registry take effect (``net stop sppsvc`` [MS-REG]).

``refuse_restart`` (fault ``sppsvc_restart_refused``): on Windows 8 and later sppsvc is
trigger-started and may refuse a stop requested over WinRM; slmgr.vbs itself never
restarts it, it only warns "a KMS reboot is needed for this setting to take effect"
[SLMGR10 L_MsgWarningKmsReboot]. The lab refuses as the Service Control Manager refuses a
caller without SERVICE_STOP: Restart-Service fails with "Service 'Software Protection
(sppsvc)' cannot be stopped due to the following error: Cannot open sppsvc service on
computer '.'." over Win32 error 5 [PowerShell/PowerShell src/Microsoft.PowerShell.Commands.
Management/resources/ServiceResources.resx CouldNotStopService; LAB: which of the SCM's
refusals a real host gives is not sourced].
"""

from __future__ import annotations

import dataclasses
import typing as t


@dataclasses.dataclass
class Service:
    """``name``, ``display_name``, ``status`` (Running|Stopped), ``start_type``."""

    name: str
    display_name: str
    status: str = "Running"
    start_type: str = "Automatic"
    refuse_restart: bool = False

    def as_dict(self) -> dict[str, t.Any]:
        """JSON-able form."""
        return dataclasses.asdict(self)


def builtin_services(ospp: bool) -> dict[str, Service]:
    """The services of a fresh host (osppsvc only when OSPP is present)."""
    out = {"sppsvc": Service("sppsvc", "Software Protection")}
    if ospp:
        out["osppsvc"] = Service("osppsvc", "Office Software Protection Platform", start_type="Manual")
    return out
