"""One licensing SKU's state on a host, and the license-state rules over lab time.

Rules [SEED], [MS-TIMING], [ODO-KMS], [MOF7601]:

* a SKU without a key: LicenseStatus 0 (Unlicensed), reason 0xC004F014;
* a key, not activated: 2 (OOBGrace) for the initial **30 days** from the grace anchor
  (install time, or the last rearm) with GracePeriodRemaining in minutes and reason
  0x4004F00C, then 5 (Notification) with reason 0xC004F009 (grace time expired);
* MAK/retail/CSVLK activated (online or by phone): 1 (Licensed), GracePeriodRemaining 0;
* KMS client activated: 1 for **180 days** from the last successful request
  (GracePeriodRemaining 259200 right after, counting down), then 3 (OOTGrace) for
  30 days (reason 0x4004F00D), then 5 (Notification, 0xC004F009).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

from winlab.models import errors
from winlab.models.catalog import SkuDef
from winlab.models.kms import KmsHostState

OOB_GRACE = dt.timedelta(days=30)
KMS_VALIDITY = dt.timedelta(days=180)
OOT_GRACE = dt.timedelta(days=30)
DEFAULT_ACTIVATION_INTERVAL = 120  # minutes [MS-TIMING]
DEFAULT_RENEWAL_INTERVAL = 10080  # minutes (7 days) [MS-TIMING]
IN_GRACE = 0x4004F00C  # informational: running within the valid grace period [SLERRXML]
IN_OOT_GRACE = 0x4004F00D  # informational: within the out-of-tolerance grace period [SLERRXML]
NONE_DATE = dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc)  # "no date" [OSPP15]


def minutes_until(end: dt.datetime, now: dt.datetime) -> int:
    """Whole minutes from ``now`` to ``end`` (0 when past)."""
    return max(0, int((end - now).total_seconds() // 60))


@dataclasses.dataclass
class Product:
    """A SoftwareLicensingProduct / OfficeSoftwareProtectionProduct row and its state.

    ``key`` is the full installed product key: a secret that never leaves the model
    (CIM shows ``PartialProductKey``, the last 5 characters).
    """

    sku: SkuDef
    store: str  # "spp" | "ospp"
    grace_anchor: dt.datetime
    key: str | None = None
    key_kind: str | None = None  # gvlk | mak | retail | csvlk
    key_name: str | None = None  # KeySpec.name for fleet keys
    product_key_id: str | None = None
    activated: bool = False  # MAK / retail / CSVLK activation (online or phone)
    kms_licensed_until: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None
    # last KMS exchange
    discovered_name: str | None = None
    discovered_port: int = 0
    discovered_ip: str | None = None
    kms_pid: str | None = None
    vl_activation_interval: int = DEFAULT_ACTIVATION_INTERVAL
    vl_renewal_interval: int = DEFAULT_RENEWAL_INTERVAL
    required_client_count: int = 0
    vl_activation_type: int = 0
    remaining_sku_rearm: int = 1001
    offline_iid: str | None = None
    kms_host: KmsHostState | None = None
    last_hresult: int | None = None

    @property
    def id(self) -> str:
        """The activation ID."""
        return self.sku.id

    @property
    def partial_key(self) -> str | None:
        """Last five characters of the installed key, or None."""
        return self.key[-5:] if self.key else None

    def clear_key(self) -> None:
        """Forget key and activation (UninstallProductKey, or another key of the family)."""
        self.key = None
        self.key_kind = None
        self.key_name = None
        self.product_key_id = None
        self.activated = False
        self.kms_licensed_until = None
        self.next_attempt_at = None
        self.offline_iid = None
        self.discovered_name = None
        self.discovered_port = 0
        self.discovered_ip = None
        self.kms_pid = None
        self.last_hresult = None

    def status(self, now: dt.datetime) -> tuple[int, int, int]:
        """(LicenseStatus, LicenseStatusReason, GracePeriodRemaining minutes) at ``now``."""
        if self.key is None:
            return 0, errors.SL_E_PKEY_NOT_INSTALLED, 0
        if self.activated:
            return 1, 0, 0
        if self.kms_licensed_until is not None:
            if now < self.kms_licensed_until:
                return 1, 0, minutes_until(self.kms_licensed_until, now)
            oot_end = self.kms_licensed_until + OOT_GRACE
            if now < oot_end:
                return 3, IN_OOT_GRACE, minutes_until(oot_end, now)
            return 5, errors.SL_E_GRACE_TIME_EXPIRED, 0
        end = self.grace_anchor + OOB_GRACE
        if now < end:
            return 2, IN_GRACE, minutes_until(end, now)
        return 5, errors.SL_E_GRACE_TIME_EXPIRED, 0

    def snapshot(self, now: dt.datetime) -> dict[str, t.Any]:
        """JSON-able state (no key: only the partial key)."""
        status, reason, grace = self.status(now)
        return {
            "id": self.id, "name": self.sku.name, "store": self.store, "channel": self.sku.channel,
            "partial_product_key": self.partial_key, "key_kind": self.key_kind, "key_name": self.key_name,
            "license_status": status, "license_status_reason": reason, "grace_minutes": grace,
            "activated": self.activated,
            "kms_licensed_until": self.kms_licensed_until.isoformat() if self.kms_licensed_until else None,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "discovered": [self.discovered_name, self.discovered_port, self.discovered_ip],
            "last_hresult": self.last_hresult,
            "kms_host": self.kms_host.snapshot(now) if self.kms_host else None,
        }
