"""The KMS host's bookkeeping, as pure state: client count, thresholds, counters.

Behaviour [WSD-PLAN], [WSD-HOST], [ODO-HOST], [SEED]:

* the host counts unique client machine IDs (CMIDs) seen in the last **30 days** and
  keeps the most recent **50** for Windows; for Office "the maximum current count is
  double the activation threshold, or 10";
* a client activates when the count (including itself) reaches its threshold:
  25 for a Windows client OS, 5 for Windows Server, 5 for volume Office;
  below it the host answers 0xC004F038 (SL_E_VL_NOT_ENOUGH_COUNT);
* clones sharing a CMID count once [SUP duplicate CMID], [SEED];
* per-status request counters follow the client's LicenseStatus (0..6) as in slmgr
  /dlv's "cumulative requests" [SLMGR10].

``KeyManagementServiceCurrentCount`` before the first client request is -1 [MOF7601],
[SEED] ("count -1 = no client has contacted the host"). The property is a uint32, so
CIM (Get-CimInstance over WinRM) delivers the bit pattern 0xFFFFFFFF = 4294967295,
while VBScript (slmgr.vbs, through SWbem's VT_I4 mapping of uint32) prints -1.
``UNCONTACTED`` is that uint32 value; the slmgr renderer must print it signed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

from winlab.models import errors

WINDOWS_CLIENT_THRESHOLD = 25
WINDOWS_SERVER_THRESHOLD = 5
OFFICE_THRESHOLD = 5
COUNT_WINDOW = dt.timedelta(days=30)
WINDOWS_CAP = 50
OFFICE_CAP = 10
UNCONTACTED = 0xFFFFFFFF  # -1 as the uint32 the CIM property carries

# Client LicenseStatus -> counter name (slmgr /dlv order).
STATUS_COUNTERS = {
    0: "KeyManagementServiceUnlicensedRequests",
    1: "KeyManagementServiceLicensedRequests",
    2: "KeyManagementServiceOOBGraceRequests",
    3: "KeyManagementServiceOOTGraceRequests",
    4: "KeyManagementServiceNonGenuineGraceRequests",
    5: "KeyManagementServiceNotificationRequests",
    6: "KeyManagementServiceNotificationRequests",  # ExtendedGrace has no own counter [LAB]
}


@dataclasses.dataclass
class KmsDecision:
    """The host's answer to one request: HRESULT (0 = activate) and the count it reported."""

    hresult: int
    current_count: int
    required: int


@dataclasses.dataclass
class KmsHostState:
    """Counting state of one KMS host SKU (Windows, or one Office version)."""

    cap: int = WINDOWS_CAP
    clients: dict[str, dt.datetime] = dataclasses.field(default_factory=dict)  # CMID -> last seen
    contacted: bool = False
    counters: dict[str, int] = dataclasses.field(default_factory=lambda: {
        "KeyManagementServiceTotalRequests": 0, "KeyManagementServiceFailedRequests": 0,
        **{name: 0 for name in STATUS_COUNTERS.values()}})

    def _prune(self, now: dt.datetime) -> None:
        cutoff = now - COUNT_WINDOW
        self.clients = {c: ts for c, ts in self.clients.items() if ts > cutoff}
        if len(self.clients) > self.cap:
            keep = sorted(self.clients.items(), key=lambda kv: kv[1], reverse=True)[: self.cap]
            self.clients = dict(keep)

    def current_count(self, now: dt.datetime) -> int:
        """Unique CMIDs within the window (capped); ``UNCONTACTED`` before any request."""
        if not self.contacted:
            return UNCONTACTED
        self._prune(now)
        return len(self.clients)

    def handle(self, cmid: str, client_status: int, required: int, now: dt.datetime) -> KmsDecision:
        """Count a request from ``cmid`` and decide: 0 when the count reaches ``required``,
        else 0xC004F038."""
        self.contacted = True
        self.counters["KeyManagementServiceTotalRequests"] += 1
        self.counters[STATUS_COUNTERS.get(client_status, STATUS_COUNTERS[0])] += 1
        self.clients[cmid.lower()] = now
        self._prune(now)
        count = len(self.clients)
        if count < required:
            return KmsDecision(errors.SL_E_VL_NOT_ENOUGH_COUNT, count, required)
        return KmsDecision(0, count, required)

    def fail(self) -> None:
        """Count a request the host refused outright (wrong product, not activated)."""
        self.contacted = True
        self.counters["KeyManagementServiceTotalRequests"] += 1
        self.counters["KeyManagementServiceFailedRequests"] += 1

    def snapshot(self, now: dt.datetime) -> dict[str, t.Any]:
        """JSON-able state."""
        count = self.current_count(now)
        return {"current_count": -1 if count == UNCONTACTED else count, "cap": self.cap,
                "clients": {c: ts.isoformat() for c, ts in sorted(self.clients.items())},
                "counters": dict(self.counters)}
