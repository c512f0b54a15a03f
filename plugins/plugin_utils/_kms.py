# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Validators and constants shared by the KMS host and KMS client planners.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Pure Python: no Ansible imports. The facts and their sources are listed in
:mod:`._kms_host` (module ``kms_host``) and :mod:`._kms_client` (module ``kms_client``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import typing as t

from . import _action, _errors, _state

SPP_KEY = "HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform"
PUBLISH_LIST_VALUE = "DnsDomainPublishList"
SPP_SERVICE_NAME = "sppsvc"
#: Interval bounds of SetVLActivationInterval / SetVLRenewalInterval: 15 minutes to 30 days [WSD-SLMGR].
INTERVAL_MIN, INTERVAL_MAX = 15, 43200
#: SRV priority and weight are 16-bit (RFC 2782).
SRV_FIELD_MAX = 65535
#: VLActivationTypeEnabled values [MS-SLP]: 0 all, 1 AD, 2 KMS, 3 token.
ACTIVATION_TYPES: dict[str, int] = {"all": 0, "ad": 1, "kms": 2, "token": 3}
#: The product families kms_client configures.
FAMILIES = ("windows", "office", "office2010")
FAMILY_LABELS = {
    "windows": "Windows",
    "office": "Office 2013 and later",
    "office2010": "Office 2010",
    "ids": "the products given by activation_ids",
}
#: slmgr classifies KMS clients by this Description substring [SLMGR10].
KMS_CLIENT_MARK = "VOLUME_KMSCLIENT"

_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?$")


class SettingError(_action.PlanningError, ValueError):
    """A desired setting is invalid; the message names the option, the value and the cause."""


# --------------------------------------------------------------------------- validation


def validate_dns_name(value: str, option: str) -> str:
    """A DNS name (host name or domain) without the trailing dot, lower-cased.

    Labels of 1..63 letters, digits, hyphens (underscore tolerated, as in SRV owner names),
    not starting or ending with a hyphen, at most 253 characters in all. Raises
    :class:`SettingError` naming ``option`` and the value.
    """
    name = str(value).strip()
    bare = name[:-1] if name.endswith(".") else name
    if not bare:
        raise SettingError(f"{option} '{value}' is empty")
    if len(bare) > 253:
        raise SettingError(f"{option} '{value}' is longer than 253 characters")
    bad = [label for label in bare.split(".") if not _LABEL_RE.match(label)]
    if bad:
        raise SettingError(
            f"{option} '{value}' is not a valid DNS name: label '{bad[0]}' must be 1 to 63 letters, digits or "
            "hyphens and must not start or end with a hyphen"
        )
    return bare.lower()


def validate_port(value: t.Any, option: str) -> int:
    """A TCP port 1..65535 as int; :class:`SettingError` otherwise."""
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        raise SettingError(f"{option} '{value}' is not a port number") from None
    if not 1 <= port <= 65535:
        raise SettingError(f"{option} {port} is outside 1..65535")
    return port


def validate_interval(value: int, option: str) -> int:
    """An activation/renewal interval in minutes, 15..43200 [WSD-SLMGR]."""
    if not INTERVAL_MIN <= value <= INTERVAL_MAX:
        raise SettingError(
            f"{option} {value} is outside {INTERVAL_MIN}..{INTERVAL_MAX} minutes (15 minutes to 30 days)"
        )
    return value


@dataclasses.dataclass(frozen=True)
class KmsAddress:
    """A KMS host as ``SetKeyManagementServiceMachine`` takes it, and an optional port.

    ``machine`` keeps the brackets of an IPv6 address, as slmgr.vbs passes it [SLMGR10].
    """

    machine: str
    port: int | None


def parse_kms_host(value: str, option: str = "kms_host") -> KmsAddress:
    """Parse ``name``, ``name:port``, ``IPv4[:port]``, ``[IPv6]`` or ``[IPv6]:port``.

    Host names are validated as DNS names and lower-cased; an IPv6 address without
    brackets is refused (its colons would be read as a port, as slmgr.vbs does).
    """
    text = str(value).strip()
    if not text:
        raise SettingError(f"{option} is empty")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SettingError(f"{option} '{value}' opens a bracket for an IPv6 address but does not close it")
        inner = text[1:end]
        try:
            addr = ipaddress.IPv6Address(inner)
        except ValueError:
            raise SettingError(f"{option} '{value}': '{inner}' is not an IPv6 address") from None
        rest = text[end + 1:]
        port = None
        if rest:
            if not rest.startswith(":"):
                raise SettingError(f"{option} '{value}': expected ':port' after the IPv6 address, got '{rest}'")
            port = validate_port(rest[1:], f"{option} port")
        return KmsAddress(f"[{addr.compressed}]", port)
    if text.count(":") > 1:
        raise SettingError(
            f"{option} '{value}' looks like an IPv6 address: write it in brackets, e.g. '[{text}]' or '[{text}]:1688'"
        )
    host, sep, port_text = text.partition(":")
    port = validate_port(port_text, f"{option} port") if sep else None
    try:
        return KmsAddress(str(ipaddress.IPv4Address(host)), port)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", host):
        raise SettingError(f"{option} '{value}': '{host}' is neither an IPv4 address nor a host name")
    return KmsAddress(validate_dns_name(host, option), port)


def validate_activation_ids(values: t.Sequence[str]) -> tuple[str, ...]:
    """Activation IDs as lower-case GUIDs without braces, in order, without duplicates."""
    bad = [v for v in values if not _GUID_RE.match(str(v).strip())]
    if bad:
        raise SettingError(f"activation_ids must be GUIDs, got {', '.join(repr(b) for b in bad)}")
    return tuple(dict.fromkeys(str(v).strip().strip("{}").lower() for v in values))


def windows8_or_later(os_info: _state.OperatingSystem | None) -> bool | None:
    """True on Windows 8 / Server 2012 (6.2) and later; None when the version is unknown."""
    if os_info is None or not os_info.version:
        return None
    parts = os_info.version.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
    return (major, minor) >= (6, 2)


def instances(result: t.Mapping[str, t.Any] | None) -> list[t.Mapping[str, t.Any]]:
    if not result or not result.get("ok"):
        return []
    return list(result.get("instances") or [])


def query_error(cls: str, result: t.Mapping[str, t.Any] | None) -> str | None:
    """``Failed to query <cls>: 0x... (SYMBOL): ...`` for a failed query, else None."""
    if not result or result.get("ok") or result.get("skipped"):
        return None
    code = result.get("hresult")
    if code is None:
        return f"Failed to query {cls}: {result.get('error') or 'unknown error'}"
    return f"Failed to query {cls}: {_errors.explain(code, result.get('error'))}"


def wql_ids(ids: t.Iterable[str]) -> str:
    return " OR ".join(f"ID = {_state.wql_string(i)}" for i in ids)
