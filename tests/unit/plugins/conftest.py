"""Fakes shared by the unit tests of the action plugins and the engine.

``FakeExecutor`` replaces ``ActionBase._execute_module`` with recorded executor
results (tests/unit/test_data) and records every call, so tests assert the exact
operations sent and the number of round trips.
"""

from __future__ import annotations

import copy
import json
import pathlib
import typing as t
from unittest import mock

import pytest

TEST_DATA = pathlib.Path(__file__).resolve().parents[1] / "test_data"


def load_data(*parts: str) -> dict[str, t.Any]:
    """Load a JSON file under tests/unit/test_data."""
    return t.cast(dict[str, t.Any], json.loads(TEST_DATA.joinpath(*parts).read_text(encoding="utf-8")))


class FakeExecutor:
    """Answers ``_execute_module`` calls with queued results; records the calls."""

    def __init__(self, task: t.Any, responses: t.Iterable[t.Any]) -> None:
        self._task = task
        self.responses = list(responses)
        self.calls: list[dict[str, t.Any]] = []

    def __call__(self, module_name: str | None = None, module_args: dict[str, t.Any] | None = None,
                 task_vars: t.Any = None, **kwargs: t.Any) -> dict[str, t.Any]:
        self.calls.append({
            "module_name": module_name,
            "module_args": copy.deepcopy(module_args),
            "check_mode": bool(self._task.check_mode),
            "kwargs": kwargs,
        })
        if not self.responses:
            raise AssertionError("unexpected extra round trip")
        resp = self.responses.pop(0)
        if callable(resp):
            resp = resp(module_args)
        return copy.deepcopy(resp)

    @property
    def operations(self) -> list[list[dict[str, t.Any]]]:
        return [c["module_args"]["operations"] for c in self.calls]


def make_task(args: dict[str, t.Any], check_mode: bool = False, diff: bool = False,
              action: str = "winops.volume_activation.license_info") -> mock.MagicMock:
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.diff = diff
    task.action = action
    task.async_val = 0
    return task


def make_action(cls: type, args: dict[str, t.Any], responses: t.Iterable[t.Any], *, check_mode: bool = False,
                diff: bool = False, action: str = "winops.volume_activation.license_info") -> tuple[t.Any, FakeExecutor]:
    """An action plugin instance of ``cls`` whose ``_execute_module`` is a :class:`FakeExecutor`."""
    task = make_task(args, check_mode=check_mode, diff=diff, action=action)
    connection = mock.MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\Temp\\ansible-tmp"
    plugin = cls(task, connection, mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    fake = FakeExecutor(task, responses)
    plugin._execute_module = fake
    return plugin, fake


class DisplayRecorder:
    """Records every message sent to the engine's Display, at any verbosity."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> t.Callable[..., None]:
        def record(msg: str, *args: t.Any, **kwargs: t.Any) -> None:
            self.messages.append((name, str(msg)))
        return record

    @property
    def text(self) -> str:
        return "\n".join(m for _name, m in self.messages)


@pytest.fixture
def display_recorder(monkeypatch: pytest.MonkeyPatch) -> DisplayRecorder:
    """Replace the engine's Display with a recorder (captures -v .. -vvvv output)."""
    from ansible_collections.winops.volume_activation.plugins.plugin_utils import _client

    rec = DisplayRecorder()
    monkeypatch.setattr(_client, "display", rec)
    return rec


# The columns of every read of a licensing class, written out as the executor must receive
# them (never SELECT *: slmgr.vbs and ospp.vbs name their columns). ``properties`` exist on
# every supported Windows version; ``optional_properties`` are the members Windows 7 lacks (and,
# for OSPP, those ospp.vbs does not show), selected where the class has them.
_COUNTERS = ["KeyManagementServiceFailedRequests", "KeyManagementServiceLicensedRequests",
             "KeyManagementServiceNonGenuineGraceRequests", "KeyManagementServiceNotificationRequests",
             "KeyManagementServiceOOBGraceRequests", "KeyManagementServiceOOTGraceRequests",
             "KeyManagementServiceTotalRequests", "KeyManagementServiceUnlicensedRequests"]
LICENSING_COLUMNS: dict[str, dict[str, list[str]]] = {
    "SoftwareLicensingService": {
        "properties": [
            "Version", "ClientMachineID", "RemainingWindowsReArmCount", "KeyManagementServiceMachine",
            "KeyManagementServicePort", "DiscoveredKeyManagementServiceMachineName",
            "DiscoveredKeyManagementServiceMachinePort", "VLActivationInterval", "VLRenewalInterval",
            "IsKeyManagementServiceMachine", "KeyManagementServiceCurrentCount", "RequiredClientCount",
            "KeyManagementServiceListeningPort", "KeyManagementServiceDnsPublishing", "KeyManagementServiceLowPriority",
            "KeyManagementServiceHostCaching", "KeyManagementServiceProductKeyID", *_COUNTERS],
        "optional_properties": ["KeyManagementServiceLookupDomain", "DiscoveredKeyManagementServiceMachineIpAddress"],
    },
    "SoftwareLicensingProduct": {
        "properties": [
            "ID", "Name", "Description", "ApplicationID", "PartialProductKey", "ProductKeyID", "LicenseStatus",
            "LicenseStatusReason", "GracePeriodRemaining", "EvaluationEndDate", "LicenseIsAddon",
            "OfflineInstallationId", "KeyManagementServiceMachine", "KeyManagementServicePort",
            "DiscoveredKeyManagementServiceMachineName", "DiscoveredKeyManagementServiceMachinePort",
            "KeyManagementServiceProductKeyID", "VLActivationInterval", "VLRenewalInterval",
            "IsKeyManagementServiceMachine", "KeyManagementServiceCurrentCount", "RequiredClientCount", *_COUNTERS],
        "optional_properties": [
            "ProductKeyChannel", "RemainingAppReArmCount", "RemainingSkuReArmCount", "KeyManagementServiceLookupDomain",
            "DiscoveredKeyManagementServiceMachineIpAddress", "VLActivationTypeEnabled", "VLActivationType",
            "ADActivationObjectName", "ADActivationObjectDN", "ADActivationCsvlkPid", "ADActivationCsvlkSkuId"],
    },
    "OfficeSoftwareProtectionService": {
        "properties": ["ClientMachineID", "KeyManagementServiceHostCaching"],
        "optional_properties": [
            "Version", "KeyManagementServiceMachine", "KeyManagementServicePort",
            "DiscoveredKeyManagementServiceMachineName", "DiscoveredKeyManagementServiceMachinePort",
            "VLActivationInterval", "VLRenewalInterval", "IsKeyManagementServiceMachine",
            "KeyManagementServiceCurrentCount", "RequiredClientCount", "KeyManagementServiceProductKeyID"],
    },
    "OfficeSoftwareProtectionProduct": {
        "properties": [
            "ID", "Name", "Description", "ApplicationID", "PartialProductKey", "ProductKeyID", "LicenseStatus",
            "LicenseStatusReason", "GracePeriodRemaining", "EvaluationEndDate", "LicenseIsAddon",
            "OfflineInstallationId", "KeyManagementServiceMachine", "KeyManagementServicePort",
            "DiscoveredKeyManagementServiceMachineName", "DiscoveredKeyManagementServiceMachinePort",
            "VLActivationInterval", "VLRenewalInterval"],
        "optional_properties": [
            "KeyManagementServiceProductKeyID", "IsKeyManagementServiceMachine", "KeyManagementServiceCurrentCount",
            "RequiredClientCount", *_COUNTERS],
    },
}


def licensing_read(class_name: str, filter: str | None = None) -> dict[str, t.Any]:
    """The ``cim_query`` of a licensing class as the executor must receive it."""
    op: dict[str, t.Any] = {"op": "cim_query", "class": class_name, **LICENSING_COLUMNS[class_name]}
    if filter:
        op["filter"] = filter
    return op


# The read batch of product_key and activation (KeyStateReader without activation IDs) and the
# refresh that follows a change, written out as the executor must receive them.
KEY_STATE_READ: list[dict[str, t.Any]] = [
    {"op": "cim_query", "class": "Win32_OperatingSystem",
     "properties": ["Caption", "Version", "BuildNumber", "OperatingSystemSKU", "ProductType", "LocalDateTime"]},
    licensing_read("SoftwareLicensingService"),
    licensing_read("SoftwareLicensingProduct", "PartialProductKey <> null"),
    licensing_read("OfficeSoftwareProtectionService"),
    licensing_read("OfficeSoftwareProtectionProduct", "PartialProductKey <> null"),
]
REFRESH: dict[str, t.Any] = {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "RefreshLicenseStatus"}
