"""_rearm and _restart: targets per Windows version and Office store, refusals before anything is
sent, the CMID condition, the restart; the restart waiter with a fake client and clock."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _client,
    _rearm,
    _restart,
    _state,
)

WIN = "55c92734-d682-4d71-983e-d6ec3f16059f"
CMID = "7c6d1a2b-0f2e-4a41-9e33-3a0a51e5e1c4"
OSPP_CMID = "11111111-2222-4333-8444-555555555555"
SKU = "2d5a5a60-3040-48bf-beb0-fcd770c20ce0"
BOOT = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)


def read(version: str = "10.0.22631", windows_left: int = 1001, app_left: int = 5, office: str | None = "spp"
         ) -> _rearm.RearmState:
    svc = _state.LicensingService.from_cim({"ClientMachineID": CMID, "RemainingWindowsReArmCount": windows_left},
                                           "spp")
    ospp = _state.LicensingService.from_cim({"ClientMachineID": OSPP_CMID}, "ospp") if office == "ospp" else None
    products = [_state.LicensingProduct.from_cim(
        {"ID": SKU, "Name": "Windows(R), Enterprise edition", "ApplicationID": WIN, "PartialProductKey": "2YT43",
         "Description": "Windows(R) Operating System, VOLUME_KMSCLIENT channel", "LicenseStatus": 1,
         "RemainingSkuReArmCount": 1001}, "spp", svc, None)]
    if office:
        products.append(_state.LicensingProduct.from_cim(
            {"ID": "o1", "Name": "Office 16, Office16ProPlusVL_KMS_Client edition", "PartialProductKey": "WFG99",
             "ApplicationID": _rearm.OFFICE_APP_ID, "Description": "Office 16, VOLUME_KMSCLIENT channel",
             "LicenseStatus": 1, "RemainingAppReArmCount": app_left},
            office, svc if office == "spp" else ospp, None))
    os_ = _state.OperatingSystem.from_cim({"Caption": "Microsoft Windows", "Version": version, "ProductType": 1})
    state = _state.HostState(os=os_, service=svc, ospp_service=ospp, ospp_present=office == "ospp",
                             products=tuple(products))
    return _rearm.RearmState(state, BOOT)


def request(**params: t.Any) -> _rearm.RearmRequest:
    return _rearm.parse_request({"force": not params.get("cmids"), **params})


@pytest.mark.parametrize(("params", "state", "methods", "restart"), [
    ({}, read(), ["cim_invoke:ReArmWindows", "os_restart"], True),
    ({"restart": False}, read(), ["cim_invoke:ReArmWindows"], False),
    ({"product": "office"}, read(), ["cim_invoke:ReArmApp"], False),
    ({"product": "office"}, read("6.1.7601", office="ospp"), ["ospp_rearm"], False),
    ({"activation_id": SKU.upper()}, read(), ["cim_invoke:ReArmSku"], False),
    ({"cmids": [CMID.upper()]}, read(), ["cim_invoke:ReArmWindows", "os_restart"], True),
    ({"cmids": ["00000000-0000-4000-8000-000000000000"]}, read(), [], False),
])
def test_plan(params: dict[str, t.Any], state: _rearm.RearmState, methods: list[str], restart: bool) -> None:
    rp = _rearm.plan_rearm(request(**params), state)
    got = [f"{op['op']}:{op['method']}" if op["op"] == "cim_invoke" else op["op"] for op in rp.plan.operations]
    assert got == methods
    assert rp.restart is restart
    if "ReArmApp" in " ".join(got):
        assert rp.plan.operations[0]["arguments"] == {"ApplicationId": _rearm.OFFICE_APP_ID}
    if "ReArmSku" in " ".join(got):
        assert rp.plan.operations[0]["filter"] == f"ID = '{SKU}'"


@pytest.mark.parametrize(("params", "state", "message"), [
    ({}, read(windows_left=0), "Failed to rearm Windows: RemainingWindowsReArmCount is 0, no rearm is left"),
    ({"product": "office"}, read(app_left=0), "Failed to rearm Office: RemainingAppReArmCount is 0"),
    ({"product": "office"}, read("6.1.7601"), "ReArmApp exists on Windows 8 / Server 2012 and later only"),
    ({"product": "office"}, read(office=None), "no Office product with a key was found"),
    ({"activation_id": "9d0bb49b-21a1-4354-9981-ec5dd9393961"}, read(), "no licensing product has this activation"),
])
def test_refusals(params: dict[str, t.Any], state: _rearm.RearmState, message: str) -> None:
    with pytest.raises(_rearm.RearmPlanError) as e:
        _rearm.plan_rearm(request(**params), state)
    assert message in str(e.value)


@pytest.mark.parametrize(("params", "message"), [
    ({}, "needs a condition: give cmids"),
    ({"cmids": ["nope"]}, "cmids must hold GUIDs, got 'nope'"),
    ({"cmids": [CMID], "force": True}, "cmids and force=true exclude each other"),
    ({"force": True, "restart_timeout": 5}, "restart_timeout must be at least 30 seconds, got 5"),
])
def test_parse_refusals(params: dict[str, t.Any], message: str) -> None:
    with pytest.raises(_rearm.RearmPlanError, match=message):
        _rearm.parse_request(params)


class FakeClient:
    """``run`` answers from a script: an exception to raise or a boot time to report."""

    def __init__(self, script: list[t.Any]) -> None:
        self.script = script
        self.round_trips = 0
        self.logs: list[str] = []

    def run(self, batch: _client.Batch, stop_on_error: bool = True) -> t.Any:
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        self.round_trips += 1
        return _client.BatchResult(results=(_client.OpResult(index=0, op="cim_query", ok=True, skipped=False,
                                                             hresult=None, error=None, raw={"boot": step}),),
                                   changed=False)

    def log(self, level: int, message: str, secrets: t.Sequence[str] = ()) -> None:
        self.logs.append(message)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, s: float) -> None:
        self.now += s


@pytest.mark.parametrize(("script", "trips"), [
    ([ConnectionRefusedError("down"), ConnectionRefusedError("down"), BOOT + dt.timedelta(minutes=1)], 1),
    ([BOOT, ConnectionRefusedError("down"), BOOT + dt.timedelta(minutes=1)], 2),  # answered before going down
])
def test_wait_for_restart(script: list[t.Any], trips: int) -> None:
    clock = Clock()
    client = FakeClient(script)
    res = _restart.wait_for_restart(None, t.cast(t.Any, client), [{"op": "cim_query", "class": "Win32_OperatingSystem"}],
                                    boot_time=lambda r: r[0]["boot"],
                                    boot_before=BOOT, delay=2, timeout=60, sleep=clock.sleep, clock=lambda: clock.now)
    assert (res.attempts, res.round_trips) == (3, trips)
    assert res.elapsed == clock.now >= 3


def test_wait_for_restart_times_out_with_the_last_reason() -> None:
    clock = Clock()
    client = FakeClient([ConnectionRefusedError("connection refused")] * 100)
    with pytest.raises(_restart.RestartTimeout, match=r"within 30 s \(ConnectionRefusedError: connection refused\)"):
        _restart.wait_for_restart(None, t.cast(t.Any, client), [{"op": "cim_query", "class": "Win32_OperatingSystem"}],
                                  boot_time=lambda r: None, boot_before=BOOT, delay=2, timeout=30,
                                  sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.now >= 30
