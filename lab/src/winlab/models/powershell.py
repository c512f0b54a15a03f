"""What Windows PowerShell 5.1 finds on a host: command modules by Windows version.

The lab does not run PowerShell. It answers the executor's operations from its models,
but a module script is delivered to the host in full (the exec manifest carries it), and
PowerShell resolves a command only when the line naming it runs. So the lab checks the
delivered script against the host's PowerShell: a script that names a command this
Windows version does not have fails, on this host, the operations that would run it,
with the error PowerShell gives (:func:`command_not_found`).

Sources:

* NetSecurity (``Get-/New-/Set-/Remove-NetFirewallRule`` and the ``Get-NetFirewall*Filter``
  cmdlets) is a CDXML module over ``MSFT_NetFirewallRule`` (root/StandardCimv2), a class
  whose minimum supported versions are Windows 8 and Windows Server 2012 [MicrosoftDocs/
  win32 desktop-src/FWP/wmi/wfascimprov/msft-netfirewallrule.md, Requirements]. It ships
  with the OS, not with WMF, so WMF 5.1 on Windows 7 / Server 2008 R2 (6.1) does not add it.
* The firewall COM API (``HNetCfg.FwPolicy2``, ``HNetCfg.FWRule``: ``INetFwPolicy2``,
  ``INetFwRule``, FirewallAPI.dll) exists from Windows Vista / Server 2008 (6.0)
  [MicrosoftDocs/sdk-api sdk-api-src/content/netfw/nn-netfw-inetfwrule.md, Requirements].
* An unknown command raises ``CommandNotFoundException`` (a ``RuntimeException``, itself a
  ``SystemException``, so its HResult is COR_E_SYSTEM 0x80131501) with category
  ObjectNotFound [PowerShell/PowerShell src/System.Management.Automation/utils/
  CommandDiscoveryExceptions.cs, RuntimeException.cs]. Windows PowerShell 5.1 words the
  message "The term 'X' is not recognized as the name of a cmdlet, function, script
  file, or operable program. Check the spelling of the name, or if a path was included,
  verify that the path is correct and try again." (PowerShell 7 rewords it as "... as a
  name of a cmdlet, function, script file, or executable program.", DiscoveryExceptions.resx).

Simplification [LAB]: which operations run a command is not derived from the script (the
lab cannot execute it); :data:`OPERATIONS_USING` says which executor operations use each
module, and a script that names any command of a missing module fails those operations
with the first such command it names.
"""

from __future__ import annotations

import functools
import re
import typing as t

#: Module -> (first Windows version that has it, its commands the lab knows).
MODULES: dict[str, tuple[tuple[int, int], tuple[str, ...]]] = {
    "NetSecurity": ((6, 2), (
        "Get-NetFirewallRule", "New-NetFirewallRule", "Set-NetFirewallRule", "Remove-NetFirewallRule",
        "Enable-NetFirewallRule", "Disable-NetFirewallRule", "Get-NetFirewallPortFilter",
        "Get-NetFirewallAddressFilter", "Get-NetFirewallApplicationFilter", "Get-NetFirewallServiceFilter",
        "Get-NetFirewallProfile", "Set-NetFirewallProfile")),
}
#: COM ProgID -> first Windows version that registers it.
COM_CLASSES: dict[str, tuple[int, int]] = {"HNetCfg.FwPolicy2": (6, 0), "HNetCfg.FWRule": (6, 0)}
#: Module -> the executor operations that would run its commands.
OPERATIONS_USING: dict[str, tuple[str, ...]] = {
    "NetSecurity": ("firewall_get", "firewall_set", "firewall_create", "firewall_remove"),
}

COR_E_SYSTEM = 0x80131501
_COMMAND = re.compile(r"(?<![\w-])([A-Za-z]+-[A-Za-z][A-Za-z0-9]*)(?![\w-])")


def os_version(version: str) -> tuple[int, int]:
    """``"6.1.7601"`` -> ``(6, 1)``."""
    major, minor = (int(x) for x in version.split(".")[:2])
    return major, minor


def has_module(version: str, module: str) -> bool:
    """Whether Windows ``version`` ships the PowerShell module."""
    return os_version(version) >= MODULES[module][0]


def has_com_class(version: str, progid: str) -> bool:
    """Whether ``New-Object -ComObject progid`` works on Windows ``version``."""
    first = COM_CLASSES.get(progid)
    return first is not None and os_version(version) >= first


def strip_comments(script: str) -> str:
    """The script without its comments (``# ...`` to the end of the line, ``<# ... #>``
    blocks); quoted strings are kept, so a ``#`` inside one is not taken for a comment."""
    out: list[str] = []
    i, n = 0, len(script)
    quote: str | None = None
    while i < n:
        c = script[i]
        if quote is not None:
            out.append(c)
            if c == "`" and quote == '"' and i + 1 < n:  # a backtick escapes the next character
                out.append(script[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
            i += 1
        elif c in "'\"":
            quote = c
            out.append(c)
            i += 1
        elif script.startswith("<#", i):
            end = script.find("#>", i + 2)
            i = n if end < 0 else end + 2
        elif c == "#":
            end = script.find("\n", i)
            i = n if end < 0 else end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def commands_named(script: str) -> list[str]:
    """The ``Verb-Noun`` words of a script outside its comments, lower-cased, in order of
    first appearance (words in strings count: an over-approximation, see the module docstring)."""
    return list(_commands_named(script))


# Every host of a fleet receives the same module script: scanning it once, not once per host,
# keeps the lab's own CPU (one process standing in for a fleet of machines that would each parse
# their copy in parallel) out of the controller's measurements (tools/bench.py).
@functools.lru_cache(maxsize=32)
def _commands_named(script: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for m in _COMMAND.finditer(strip_comments(script)):
        seen.setdefault(m.group(1).lower(), None)
    return tuple(seen)


def missing_commands(version: str, script: str) -> dict[str, str]:
    """Executor operation -> the first command the script names that Windows ``version``
    lacks (in the script's spelling of Microsoft's name), for the operations that would run it."""
    named = commands_named(script)
    out: dict[str, str] = {}
    for module, (_first, commands) in MODULES.items():
        if has_module(version, module):
            continue
        by_lower = {c.lower(): c for c in commands}
        hit = next((by_lower[c] for c in named if c in by_lower), None)
        if hit is not None:
            for op in OPERATIONS_USING[module]:
                out.setdefault(op, hit)
    return out


def command_not_found(command: str) -> dict[str, t.Any]:
    """The error fields the executor reports for a CommandNotFoundException (Windows PowerShell 5.1)."""
    return {
        "hresult": COR_E_SYSTEM,
        "hresult_hex": f"0x{COR_E_SYSTEM:08X}",
        "error": (f"The term '{command}' is not recognized as the name of a cmdlet, function, script file, or "
                  "operable program. Check the spelling of the name, or if a path was included, verify that the "
                  "path is correct and try again."),
    }
