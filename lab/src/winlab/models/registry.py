"""A typed registry: keys (case-insensitive paths) holding named, typed values.

Types are the PowerShell ``RegistryValueKind`` names the executor protocol uses:
String (REG_SZ), ExpandString, DWord, QWord, MultiString (REG_MULTI_SZ), Binary.
Paths accept ``HKLM:\\...``, ``HKLM\\...`` and ``HKEY_LOCAL_MACHINE\\...``; they are
stored as ``HKLM\\...``. Only HKLM is simulated.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import typing as t

REG_TYPES = ("String", "ExpandString", "DWord", "QWord", "MultiString", "Binary")

SPP_KEY = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\SoftwareProtectionPlatform"
OSPP_KEY = r"HKLM\SOFTWARE\Microsoft\OfficeSoftwareProtectionPlatform"


@functools.lru_cache(maxsize=4096)
def normalize_path(path: str) -> str:
    """Canonical ``HKLM\\...`` form without a trailing backslash; ``ValueError`` for other hives."""
    p = path.replace("/", "\\").strip()
    for prefix in ("HKEY_LOCAL_MACHINE\\", "HKLM:\\", "HKLM\\", "Registry::HKEY_LOCAL_MACHINE\\"):
        if p.upper().startswith(prefix.upper()):
            rest = p[len(prefix):].strip("\\")
            rest = "\\".join(part for part in rest.split("\\") if part)
            return "HKLM\\" + rest if rest else "HKLM"
    if p.upper() in ("HKLM:", "HKLM", "HKEY_LOCAL_MACHINE"):
        return "HKLM"
    raise ValueError(f"registry path '{path}' is not under HKLM")


@dataclasses.dataclass
class RegValue:
    """A named value: ``type`` one of REG_TYPES; ``value`` str, int, list[str] or bytes."""

    name: str
    type: str
    value: t.Any

    def as_dict(self) -> dict[str, t.Any]:
        """``{"type", "value"}`` as the executor returns it (Binary as a list of ints)."""
        v = list(self.value) if isinstance(self.value, (bytes, bytearray)) else copy.copy(self.value)
        return {"type": self.type, "value": v}


def coerce(type_: str, value: t.Any) -> t.Any:
    """Convert ``value`` to the Python shape of ``type_``; ``ValueError`` when it does not fit."""
    if type_ not in REG_TYPES:
        raise ValueError(f"registry type '{type_}' is not one of {', '.join(REG_TYPES)}")
    if type_ in ("String", "ExpandString"):
        if isinstance(value, (list, dict)):
            raise ValueError(f"a {type_} value must be a string")
        return "" if value is None else str(value)
    if type_ in ("DWord", "QWord"):
        if isinstance(value, bool):
            value = int(value)
        try:
            n = int(str(value), 0) if isinstance(value, str) else int(value)
        except (TypeError, ValueError) as e:
            raise ValueError(f"a {type_} value must be an integer, got {value!r}") from e
        bits = 32 if type_ == "DWord" else 64
        if n < -(1 << (bits - 1)) or n >= (1 << bits):
            raise ValueError(f"{n} does not fit a {type_}")
        return n & ((1 << bits) - 1)
    if type_ == "MultiString":
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise ValueError("a MultiString value must be a list of strings")
        return [str(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, list):
        return bytes(int(b) for b in value)
    raise ValueError("a Binary value must be a list of byte values")


class Registry:
    """HKLM as a dict of keys; all names case-insensitive, original case preserved."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, dict[str, RegValue]]] = {}
        self.create_key("HKLM\\SOFTWARE")

    def create_key(self, path: str) -> None:
        """Create ``path`` and its parents (idempotent)."""
        p = normalize_path(path)
        parts = p.split("\\")
        for i in range(1, len(parts) + 1):
            sub = "\\".join(parts[:i])
            self._keys.setdefault(sub.lower(), (sub, {}))

    def key_exists(self, path: str) -> bool:
        """Whether the key exists."""
        return normalize_path(path).lower() in self._keys

    def values(self, path: str) -> dict[str, RegValue] | None:
        """Values of a key by original name (None when the key does not exist)."""
        entry = self._keys.get(normalize_path(path).lower())
        if entry is None:
            return None
        return {v.name: v for v in entry[1].values()}

    def get(self, path: str, name: str) -> RegValue | None:
        """One value, or None."""
        entry = self._keys.get(normalize_path(path).lower())
        return None if entry is None else entry[1].get(name.lower())

    def set(self, path: str, name: str, type_: str, value: t.Any) -> RegValue | None:
        """Set a value (creating the key); returns the previous value or None."""
        self.create_key(path)
        store = self._keys[normalize_path(path).lower()][1]
        prev = store.get(name.lower())
        store[name.lower()] = RegValue(prev.name if prev else name, type_, coerce(type_, value))
        return prev

    def remove(self, path: str, name: str) -> bool:
        """Remove a value; whether it existed."""
        entry = self._keys.get(normalize_path(path).lower())
        if entry is None:
            return False
        return entry[1].pop(name.lower(), None) is not None

    def snapshot(self) -> dict[str, dict[str, dict[str, t.Any]]]:
        """JSON-able dump: key path -> value name -> {type, value}."""
        return {path: {v.name: v.as_dict() for v in vals.values()}
                for path, vals in sorted(self._keys.values()) if vals}
