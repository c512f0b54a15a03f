"""The simulated Microsoft activation service (online activation and the phone line).

It plays Microsoft's part for the synthetic keys of the fleet spec:

* MAK: each new machine consumes one activation from ``KeySpec.count``; re-activating
  the same machine+product does not; an exhausted key gives 0xC004C020, a blocked key
  0xC004C003 [WSD-ERR], [SLERRXML].
* CSVLK (KMS host key): at most ``max_hosts`` (6) distinct hosts and ``max_activations``
  (10) activations per host; beyond either, 0xC004C008 [WSD-PLAN], [SUP 0xc004c008], [SEED].
* Retail: activates online unless blocked [LAB].
* Phone/offline: ``phone(iid)`` returns the confirmation ID for an installation ID the
  service has seen (the same checks and counts as online activation apply).

Installation/confirmation IDs are derived deterministically from the world seed; the
real algorithms are Microsoft's and are not implemented. The lab never validates a
real key: only the spec's synthetic keys and the public GVLKs exist here.
"""

from __future__ import annotations

import dataclasses
import hmac
import typing as t

from winlab.models import errors
from winlab.models.errors import WmiError
from winlab.rng import LabRandom
from winlab.spec import KeySpec


@dataclasses.dataclass
class _Iid:
    key_name: str
    machine: str
    sku_id: str


@dataclasses.dataclass
class KeyUsage:
    """What the service recorded for one key."""

    machines: dict[str, int] = dataclasses.field(default_factory=dict)  # machine -> activations

    @property
    def total(self) -> int:
        """All activations of the key."""
        return sum(self.machines.values())


class ActivationService:
    """Microsoft's activation service for a fleet's synthetic keys (pure state)."""

    def __init__(self, keys: t.Iterable[KeySpec], rng: LabRandom) -> None:
        self._rng = rng
        self._keys: dict[str, KeySpec] = {k.key.upper(): dataclasses.replace(k) for k in keys}
        self._usage: dict[str, KeyUsage] = {k.name: KeyUsage() for k in self._keys.values()}
        self._iids: dict[str, _Iid] = {}
        self._issued: dict[str, str] = {}  # cid -> iid
        self.log: list[dict[str, t.Any]] = []

    # -- keys ---------------------------------------------------------------------------
    def lookup(self, key: str) -> KeySpec | None:
        """The spec entry of a synthetic key (None for anything else)."""
        return self._keys.get(key.upper())

    def add_key(self, key: KeySpec) -> None:
        """Register a key (used for the synthetic retail keys preinstalled on retail images)."""
        if key.key.upper() in self._keys:
            return
        self._keys[key.key.upper()] = key
        self._usage.setdefault(key.name, KeyUsage())

    def by_name(self, name: str) -> KeySpec:
        """A key by its spec name (KeyError if unknown)."""
        for k in self._keys.values():
            if k.name == name:
                return k
        raise KeyError(name)

    def set_blocked(self, name: str, blocked: bool = True) -> None:
        """Block or unblock a key (fault injection / control plane)."""
        self.by_name(name).blocked = blocked

    def remaining(self, name: str) -> int | None:
        """Activations left on a MAK (None for other kinds)."""
        k = self.by_name(name)
        if k.kind != "mak":
            return None
        return max(0, k.count - len(self._usage[k.name].machines))

    def usage(self, name: str) -> dict[str, int]:
        """Machine -> number of activations for a key."""
        return dict(self._usage[self.by_name(name).name].machines)

    # -- activation ---------------------------------------------------------------------
    def activate(self, key: KeySpec, machine: str, sku_id: str, channel: str = "online") -> None:
        """Activate ``key`` for ``machine`` (a stable hardware identity, the host name);
        raises ``WmiError`` with the CHPA HRESULT when the service refuses."""
        usage = self._usage[key.name]
        if key.blocked:
            self._record(key, machine, sku_id, channel, errors.SL_E_CHPA_PRODUCT_KEY_BLOCKED)
            raise WmiError(errors.SL_E_CHPA_PRODUCT_KEY_BLOCKED, f"key '{key.name}' is blocked")
        ident = f"{machine.lower()}|{sku_id}"
        if key.kind == "mak":
            if ident not in usage.machines and len(usage.machines) >= key.count:
                self._record(key, machine, sku_id, channel, errors.SL_E_CHPA_DMAK_LIMIT_EXCEEDED)
                raise WmiError(errors.SL_E_CHPA_DMAK_LIMIT_EXCEEDED,
                               f"MAK '{key.name}' has no activations left ({key.count} used)")
        elif key.kind == "csvlk":
            hosts = {m.split("|", 1)[0] for m in usage.machines}
            this = machine.lower()
            if this not in hosts and len(hosts) >= key.max_hosts:
                self._record(key, machine, sku_id, channel, errors.SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED)
                raise WmiError(errors.SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED,
                               f"KMS host key '{key.name}' already activated {key.max_hosts} hosts")
            if usage.machines.get(ident, 0) >= key.max_activations:
                self._record(key, machine, sku_id, channel, errors.SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED)
                raise WmiError(errors.SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED,
                               f"KMS host key '{key.name}' used {key.max_activations} times on this host")
        usage.machines[ident] = usage.machines.get(ident, 0) + 1
        self._record(key, machine, sku_id, channel, 0)

    def _record(self, key: KeySpec, machine: str, sku_id: str, channel: str, hresult: int) -> None:
        self.log.append({"key": key.name, "machine": machine.lower(), "sku_id": sku_id,
                         "channel": channel, "hresult": hresult})

    # -- phone / offline ----------------------------------------------------------------
    def installation_id(self, key: KeySpec | None, key_text: str, machine: str, sku_id: str) -> str:
        """The 63-digit installation ID a product shows (``OfflineInstallationId``) for a key on a
        machine; deterministic. Registered so that ``phone`` can answer it."""
        digest = self._rng.derive("iid", machine.lower(), sku_id, key_text.upper())
        iid = str(int(digest, 16))[:63].rjust(63, "0")
        if key is not None:
            self._iids[iid] = _Iid(key.name, machine.lower(), sku_id)
        return iid

    def _cid_for(self, iid: str) -> str:
        digest = hmac.new(str(self._rng.seed).encode(), b"cid:" + iid.encode(), "sha256").hexdigest()
        return str(int(digest, 16))[:48].rjust(48, "0")

    def phone(self, iid: str) -> str:
        """What the activation line answers: the 48-digit confirmation ID for ``iid``.

        Applies the key's limits (a MAK activation is consumed, a CSVLK host counted);
        ``WmiError`` with the CHPA code when refused, 0xC004F04D for an unknown IID.
        """
        iid = "".join(ch for ch in iid if ch.isdigit())
        rec = self._iids.get(iid)
        if rec is None:
            raise WmiError(errors.SL_E_INVALID_IID_OR_CID, "the activation service does not know this IID")
        key = self.by_name(rec.key_name)
        self.activate(key, rec.machine, rec.sku_id, channel="phone")
        cid = self._cid_for(iid)
        self._issued[cid] = iid
        return cid

    def check_confirmation(self, iid: str, cid: str) -> None:
        """Validate a CID typed in for ``iid`` as the licensing service would
        (``DepositOfflineConfirmationId``): 0xC004F02F wrong length, 0xC004F031 a CID issued
        for another IID, 0xC004F04D anything else that is not this IID's CID [SLERRXML]."""
        digits = "".join(ch for ch in cid if ch.isdigit())
        if len(digits) != 48 or any(ch not in "0123456789- " for ch in cid):
            raise WmiError(errors.SL_E_CID_LENGTH, "a confirmation ID has 48 digits")
        if self._issued.get(digits) == iid and digits == self._cid_for(iid):
            return
        if digits in self._issued:
            raise WmiError(errors.SL_E_IID_CID_MISMATCH, "the CID was issued for another IID")
        raise WmiError(errors.SL_E_INVALID_IID_OR_CID, "the CID was not issued for this IID")

    def snapshot(self) -> dict[str, t.Any]:
        """JSON-able state: per key name its kind, limits and use (never the key text)."""
        out = {}
        for k in self._keys.values():
            u = self._usage[k.name]
            out[k.name] = {"kind": k.kind, "product": k.product, "blocked": k.blocked,
                           "count": k.count, "max_hosts": k.max_hosts,
                           "max_activations": k.max_activations, "activations": dict(u.machines),
                           "remaining": self.remaining(k.name)}
        return out
