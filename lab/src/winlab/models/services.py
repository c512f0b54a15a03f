"""Windows services the lab simulates: ``sppsvc`` and, with OSPP, ``osppsvc``.

sppsvc is "Automatic (Delayed Start)" on Windows 7+ and runs on demand; the lab keeps
it Running [LAB]. A restart re-reads the registry-backed KMS settings, which is how
changes written straight to the registry take effect (``net stop sppsvc`` [MS-REG]).
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

    def as_dict(self) -> dict[str, t.Any]:
        """JSON-able form."""
        return dataclasses.asdict(self)


def builtin_services(ospp: bool) -> dict[str, Service]:
    """The services of a fresh host (osppsvc only when OSPP is present)."""
    out = {"sppsvc": Service("sppsvc", "Software Protection")}
    if ospp:
        out["osppsvc"] = Service("osppsvc", "Office Software Protection Platform", start_type="Manual")
    return out
