"""The cmd.exe dispatcher: which command line reaches which surface, and what comes back.

The host here is a small stand-in with the host model's interface (``cim_instances``,
``locale``, ``os_version``, ``spec``, ``request_log``) holding plain CIM dicts, so routing is
tested apart from the licensing model.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import pathlib
import sys
import threading
import types
import typing as t

import pytest

from winlab.clock import LabClock
from winlab.spec import HostSpec, OfficeSpec
from winlab.surfaces import commands
from winlab.surfaces.cim import CimSurface
from winlab.surfaces.ospp import render_ospp
from winlab.surfaces.slmgr import render_slmgr
from winlab.types import CommandResult, ModuleCall

WIN_APP = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFFICE_APP = "0ff1ce15-a989-479d-af46-f275c6370663"
START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
NOT_RECOGNIZED = ("'{}' is not recognized as an internal or external command,\r\n"
                  "operable program or batch file.\r\n")

SERVICE = {"Version": "10.0.19041.4355", "ClientMachineID": "4a1c0e5e-7d0b-4b8e-9a53-0c2f1b7d9e11",
           "KeyManagementServiceHostCaching": True, "RemainingWindowsReArmCount": 1001}
WINDOWS = {"ID": "73111121-5638-40f6-bc11-f1d7b0d64300", "Name": "Windows(R), Enterprise edition",
           "Description": "Windows(R) Operating System, VOLUME_KMSCLIENT channel", "ApplicationID": WIN_APP,
           "PartialProductKey": "2YT43", "LicenseIsAddon": False, "LicenseStatus": 5,
           "LicenseStatusReason": 0xC004F056, "GracePeriodRemaining": 0, "VLActivationTypeEnabled": 0}
OFFICE16 = {"ID": "d450596f-894d-49e0-966a-fd39ed4c4c64", "ApplicationID": OFFICE_APP,
            "Name": "Office 16, Office16ProPlusVL_KMS_Client edition",
            "Description": "Office 16, VOLUME_KMSCLIENT channel", "PartialProductKey": "WFG99",
            "ProductKeyID": "03356-03800-000-000000-03-1033-9200.0000-3052026", "LicenseStatus": 1,
            "LicenseStatusReason": 0, "GracePeriodRemaining": 0}


class FakeHost:
    """The host-model interface the dispatcher uses, over fixed CIM dicts."""

    def __init__(self, os_version: str = "10.0.19045", locale: str = "en-US",
                 office: list[OfficeSpec] | None = None) -> None:
        self.locale = locale
        self.os_version = os_version
        self.spec = HostSpec(name="ws01", address="127.0.10.21", os="windows-10", edition="Enterprise",
                             fqdn="ws01.corp.example.test", locale=locale, office=office or [],
                             username="Administrator", password="x")
        self.request_log: list[dict[str, t.Any]] = []
        self.classes: dict[str, list[dict[str, t.Any]]] = {
            "SoftwareLicensingService": [SERVICE],
            "SoftwareLicensingProduct": [WINDOWS, OFFICE16],
            "OfficeSoftwareProtectionService": [{"ClientMachineID": "6e7a3bcd-0f4b-4c0e-9b4e-1c2e3d4f5a6b"}],
            "OfficeSoftwareProtectionProduct": [],
            "Win32_OperatingSystem": [{"Version": os_version, "ProductType": 1}],
        }

    def cim_instances(self, class_name: str, namespace: str = "root/cimv2") -> list[dict[str, t.Any]]:
        assert namespace == "root/cimv2"
        return self.classes[class_name]


class RecordingLock:
    """An RLock that remembers whether it was held when the runner ran."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.entered = 0

    def __enter__(self) -> RecordingLock:
        self._lock.acquire()
        self.entered += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class FakeWorld:
    def __init__(self) -> None:
        self.lock = RecordingLock()
        self.clock = LabClock(START)


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def run(world: FakeWorld, host: FakeHost, line: str, codepage: int = 65001,
        stdin: bytes = b"") -> CommandResult:
    return commands.run_command(world, host, line, stdin, codepage, cim=host)


def slmgr_text(host: FakeHost, args: list[str]) -> str:
    _, text = render_slmgr(args, SERVICE, host.classes["SoftwareLicensingProduct"],
                           host.classes["Win32_OperatingSystem"][0], host.locale, START.replace(tzinfo=None))
    return text


@pytest.mark.parametrize("line", [
    "cscript //nologo slmgr.vbs /dli",
    "cscript //NoLogo %windir%\\system32\\slmgr.vbs /dli",
    "CSCRIPT //nologo %SystemRoot%\\System32\\SLMGR.VBS /DLI",
    "cscript.exe //nologo C:\\Windows\\System32\\slmgr.vbs /dli",
    'cscript //nologo "C:\\Windows\\System32\\slmgr.vbs" /dli',
    'C:\\Windows\\System32\\cscript.exe //nologo "%windir%\\system32\\slmgr.vbs" /dli',
    "  cscript   //nologo   slmgr.vbs   /dli  ",
])
def test_slmgr_path_variants(world: FakeWorld, line: str) -> None:
    host = FakeHost()
    result = run(world, host, line)
    assert result == CommandResult(rc=0, stdout=slmgr_text(host, ["/dli"]).encode("utf-8"), stderr=b"")
    assert b"License Status: Notification\r\nNotification Reason: 0xC004F056.\r\n" in result.stdout


def test_cscript_banner_without_nologo(world: FakeWorld) -> None:
    result = run(world, FakeHost(), "cscript slmgr.vbs /xpr")
    assert result.stdout == (b"Microsoft (R) Windows Script Host Version 5.812\r\n"
                             b"Copyright (C) Microsoft Corporation. All rights reserved.\r\n\r\n"
                             b"Windows(R), Enterprise edition:\r\n    Windows is in Notification mode\r\n\r\n")
    win7 = run(world, FakeHost(os_version="6.1.7601"), "cscript slmgr.vbs /xpr")
    assert win7.stdout.startswith(b"Microsoft (R) Windows Script Host Version 5.8\r\n")


@pytest.mark.parametrize(("line", "path"), [
    ("cscript //nologo C:\\Temp\\slmgr.vbs /dli", "C:\\Temp\\slmgr.vbs"),
    ("cscript //nologo ospp.vbs /dstatus", "C:\\Users\\Administrator\\ospp.vbs"),
    ('cscript //nologo "C:\\Program Files\\Microsoft Office\\Office15\\OSPP.VBS" /dstatus',
     "C:\\Program Files\\Microsoft Office\\Office15\\OSPP.VBS"),
    ('cscript //nologo "%ProgramFiles(x86)%\\Microsoft Office\\Office14\\OSPP.VBS" /dstatus',
     "C:\\Program Files (x86)\\Microsoft Office\\Office14\\OSPP.VBS"),
    ("cscript //nologo \\Windows\\notthere.vbs", "C:\\Windows\\notthere.vbs"),
])
def test_missing_script_is_an_input_error(world: FakeWorld, line: str, path: str) -> None:
    host = FakeHost(office=[OfficeSpec(version="2016", products=["ProPlus"])])
    result = run(world, host, line)
    assert result == CommandResult(rc=1, stdout=f'Input Error: Can not find script file "{path}".\r\n'.encode())


def test_cscript_without_script(world: FakeWorld) -> None:
    result = run(world, FakeHost(), "cscript //nologo")
    assert result == CommandResult(rc=1, stdout=b"Input Error: There is no script file specified.\r\n")


@pytest.mark.parametrize("folder", ["C:\\Program Files", "C:\\Program Files (x86)", "%ProgramFiles%"])
def test_ospp_for_installed_office16(world: FakeWorld, folder: str) -> None:
    host = FakeHost(office=[OfficeSpec(version="2019", products=["ProPlus"])])
    result = run(world, host, f'cscript //nologo "{folder}\\Microsoft Office\\Office16\\OSPP.VBS" /dstatus')
    _, expected = render_ospp(["/dstatus"], SERVICE, host.classes["SoftwareLicensingProduct"], host.os_version,
                              START, office_version="2019")
    assert result == CommandResult(rc=0, stdout=expected.encode())
    assert b"LICENSE NAME: Office 16, Office16ProPlusVL_KMS_Client edition\r\n" in result.stdout


def test_ospp_office2010_reads_the_ospp_classes(world: FakeWorld) -> None:
    host = FakeHost(office=[OfficeSpec(version="2010", products=["ProPlus"])])
    result = run(world, host, 'cscript //nologo "C:\\Program Files\\Microsoft Office\\Office14\\OSPP.VBS" /dcmid')
    assert result.stdout == (b"---Processing--------------------------\r\n"
                             b"---------------------------------------\r\n"
                             b"Client Machine ID (CMID): 6e7a3bcd-0f4b-4c0e-9b4e-1c2e3d4f5a6b\r\n"
                             b"---------------------------------------\r\n"
                             b"---Exiting-----------------------------\r\n")


@pytest.mark.parametrize(("line", "name"), [
    ("python3 -c 'import locale;print(locale.getpreferredencoding())'", "python3"),
    ("python -c 'import locale;print(locale.getpreferredencoding())'", "python"),
    ("uname -a", "uname"),
    ('"C:\\Program Files\\nothing.exe" /x', '"C:\\Program Files\\nothing.exe"'),
])
def test_unknown_commands_are_not_recognized(world: FakeWorld, line: str, name: str) -> None:
    result = run(world, FakeHost(), line, codepage=437)
    assert result == CommandResult(rc=9009, stdout=b"", stderr=NOT_RECOGNIZED.format(name).encode())


@pytest.mark.parametrize(("line", "stdout"), [
    ("hostname", b"ws01\r\n"),
    ("echo hello world", b"hello world\r\n"),
    ('echo "quoted" text', b'"quoted" text\r\n'),
    ("echo %COMPUTERNAME%", b"WS01\r\n"),
    ("echo", b"ECHO is on.\r\n"),
    ("echo.", b"\r\n"),
])
def test_hostname_and_echo(world: FakeWorld, line: str, stdout: bytes) -> None:
    assert run(world, FakeHost(), line) == CommandResult(rc=0, stdout=stdout)


@pytest.mark.parametrize(("codepage", "label"), [(65001, "名前: ".encode()), (932, "名前: ".encode("cp932")),
                                                 (437, b"??: ")])
def test_output_is_encoded_in_the_shell_codepage(world: FakeWorld, codepage: int, label: bytes) -> None:
    result = run(world, FakeHost(locale="ja-JP"), "cscript //nologo slmgr.vbs /dli", codepage=codepage)
    assert result.rc == 0
    assert b"\r\n" + label + b"Windows(R), Enterprise edition\r\n" in result.stdout


@pytest.mark.parametrize("line", [
    "cscript //nologo slmgr.vbs /ipk W269N-WFGWX-YVC9B-4J6C9-T83GX",
    "cscript //nologo slmgr.vbs /ato",
    "cscript //nologo slmgr.vbs kms01 /dlv",
    'cscript //nologo "C:\\Program Files\\Microsoft Office\\Office16\\OSPP.VBS" /inpkey:XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99',
    "powershell -NoProfile -Command Get-Date",
])
def test_state_changing_commands_are_refused_and_logged_masked(world: FakeWorld, line: str) -> None:
    host = FakeHost(office=[OfficeSpec(version="2016", products=["ProPlus"])])
    result = run(world, host, line)
    assert result.rc == 1
    assert result.stdout == b""
    assert result.stderr.startswith(b"winlab: ") and b"is not simulated" in result.stderr
    entry = host.request_log[-1]
    assert entry == {"kind": "command", "time": "2026-11-01T09:00:00+00:00",
                     "command_line": commands.mask_keys(line), "rc": 1}
    assert "W269N" not in entry["command_line"] and "XQNVK" not in entry["command_line"]


def test_mask_keys() -> None:
    assert (commands.mask_keys("slmgr /ipk w269n-wfgwx-yvc9b-4j6c9-t83gx now")
            == "slmgr /ipk XXXXX-XXXXX-XXXXX-XXXXX-T83GX now")


def test_every_command_is_logged(world: FakeWorld) -> None:
    host = FakeHost()
    run(world, host, "hostname")
    run(world, host, "python3 -c x")
    assert [(e["command_line"], e["rc"]) for e in host.request_log] == [("hostname", 0), ("python3 -c x", 9009)]


def test_make_runner_runs_under_the_world_lock(world: FakeWorld) -> None:
    host = FakeHost()
    runner = commands.make_runner(world, host)
    assert runner("hostname", b"") == CommandResult(rc=0, stdout=b"ws01\r\n")
    assert world.lock.entered == 1


# --------------------------------------------------------------------------- Ansible's bootstrap

def _bootstrap_command_line() -> str:
    spec = importlib.util.find_spec("ansible.executor.powershell")
    assert spec is not None and spec.submodule_search_locations
    script = (pathlib.Path(next(iter(spec.submodule_search_locations))) / "bootstrap_wrapper.ps1").read_text()
    # ansible-core strips comment and blank lines before encoding (docs/reference/winrm-and-lab.md).
    lines = [ln for ln in script.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    encoded = base64.b64encode("\n".join(lines).encode("utf-16-le")).decode()
    return ("PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted "
            f"-EncodedCommand {encoded}")


def _payload(args: dict[str, t.Any],
             script: str = "ansible_collections.winops.volume_activation.plugins.modules.licensing_batch.ps1") -> bytes:
    head = {"name": "exec_wrapper", "script": "", "params": {}}
    manifest = {
        "scripts": {script: {"script": "", "path": ""}, "module_wrapper.ps1": {"script": "", "path": ""}},
        "actions": [{"name": "module_wrapper.ps1", "params": {
            "Script": script, "Variables": [{"Name": "complex_args", "Value": args}]}}],
        "signed_hashlist": [],
    }
    return json.dumps(head).encode() + b"\n\0\0\0\0\n" + json.dumps(manifest).encode()


def test_ansible_bootstrap_reaches_run_module(world: FakeWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[ModuleCall] = []

    def fake_run_module(w: t.Any, h: t.Any, call: ModuleCall) -> CommandResult:
        assert w is world and h is host
        calls.append(call)
        return CommandResult(rc=0, stdout=b'{"changed": false}')

    monkeypatch.setitem(sys.modules, "winlab.surfaces.modules",
                        types.SimpleNamespace(run_module=fake_run_module))
    host = FakeHost()
    result = run(world, host, _bootstrap_command_line(),
                 stdin=_payload({"operations": [], "_ansible_check_mode": True}))
    assert result == CommandResult(rc=0, stdout=b'{"changed": false}')
    assert [(c.name, c.args, c.check_mode) for c in calls] == [
        ("winops.volume_activation.licensing_batch", {"operations": []}, True)]
    assert host.request_log == []  # the module layer logs module calls, not the dispatcher


def test_ansible_bootstrap_with_bad_stdin(world: FakeWorld) -> None:
    host = FakeHost()
    result = run(world, host, _bootstrap_command_line(), stdin=b"not a payload")
    assert result.rc == 1
    assert result.stderr.startswith(b"winlab: the Ansible module payload could not be decoded: ")
    assert host.request_log[-1]["command_line"].endswith("-EncodedCommand <elided>")


def test_split_command_line() -> None:
    assert commands.split_command_line('cscript //nologo "C:\\Program Files\\x.vbs" /a "b c"') == [
        ("cscript", "cscript"), ("//nologo", "//nologo"),
        ('"C:\\Program Files\\x.vbs"', "C:\\Program Files\\x.vbs"), ("/a", "/a"), ('"b c"', "b c")]


# --------------------------------------------------------------------------- against the real host model

FLEET: dict[str, t.Any] = {
    # Keys are SYNTHETIC (random product-key characters), as in lab/fleets/small.yml.
    "lab": {"seed": 3, "start": "2026-11-01T09:00:00Z"},
    "domain": "small.example.test",
    "defaults": {"username": "Administrator", "password": "Small-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [{"name": "ws2022-csvlk", "kind": "csvlk", "product": "windows-server-2022",
              "key": "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"}],
    "hosts": [
        {"name": "kms01", "address": "127.0.20.10", "os": "windows-server-2022", "edition": "ServerStandard",
         "roles": ["kms_host"]},
        {"name": "ws01", "address": "127.0.20.11", "os": "windows-11", "edition": "Enterprise",
         "office": [{"version": "2016", "products": ["ProPlus"]}]},
        {"name": "ws02", "address": "127.0.20.12", "os": "windows-7", "edition": "Enterprise",
         "office": [{"version": "2010", "products": ["ProPlus"]}]},
        {"name": "jp01", "address": "127.0.20.13", "os": "windows-10", "edition": "Enterprise", "locale": "ja-JP"},
    ],
}


@pytest.fixture
def real_world() -> t.Any:
    from winlab.models.world import World
    from winlab.spec import parse_fleet

    return World(parse_fleet(FLEET))


def sh(real_world: t.Any, host: str, line: str, codepage: int = 65001) -> CommandResult:
    return commands.make_runner(real_world, real_world.host(host), codepage)(line, b"")


def test_world_fresh_kms_client_in_initial_grace(real_world: t.Any) -> None:
    assert sh(real_world, "ws01", "cscript //nologo slmgr.vbs /dli").stdout.decode() == (
        "\r\n"
        "Name: Windows(R), Enterprise edition\r\n"
        "Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel\r\n"
        "Partial Product Key: 2YT43\r\n"
        "License Status: Initial grace period\r\n"
        "Time remaining: 43200 minute(s) (30 day(s))\r\n"
        "Configured Activation Type: All\r\n"
        "Please use slmgr.vbs /ato to activate and update KMS client information in order to update values.\r\n"
        "\r\n\r\n")
    real_world.advance(dt.timedelta(days=31))
    after = sh(real_world, "ws01", "cscript //nologo slmgr.vbs /dli").stdout.decode()
    assert "License Status: Notification\r\nNotification Reason: 0xC004F009 (grace time expired).\r\n" in after
    assert sh(real_world, "ws01", "cscript //nologo slmgr.vbs /xpr").stdout == (
        b"Windows(R), Enterprise edition:\r\n    Windows is in Notification mode\r\n\r\n")


def test_world_kms_host_after_csvlk_install_and_activation(real_world: t.Any) -> None:
    host = real_world.host("kms01")
    with real_world.lock:
        CimSurface(host).invoke("SoftwareLicensingService", "InstallProductKey", {"ProductKey": "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"})
        row = CimSurface(host).query("SoftwareLicensingProduct", "PartialProductKey <> null")[0]
        CimSurface(host).invoke("SoftwareLicensingProduct", "Activate", {}, row=row)
    text = sh(real_world, "kms01", "cscript //nologo slmgr.vbs /dlv").stdout.decode()
    assert "Product Key Channel: Volume:CSVLK\r\n" in text
    assert text.endswith(
        "Partial Product Key: H4D3N\r\nLicense Status: Licensed\r\n"
        "Remaining Windows rearm count: 1001\r\nRemaining SKU rearm count: 1001\r\n"
        "Trusted time: 11/1/2026 9:00:00 AM\r\n\r\n"
        "Key Management Service is enabled on this machine\r\n"
        "    Current count: -1\r\n    Listening on Port: 1688\r\n    DNS publishing enabled\r\n"
        "    KMS priority: Normal\r\n\r\n"
        "Key Management Service cumulative requests received from clients\r\n"
        "    Total requests received: 0\r\n    Failed requests received: 0\r\n"
        "    Requests with License Status Unlicensed: 0\r\n    Requests with License Status Licensed: 0\r\n"
        "    Requests with License Status Initial grace period: 0\r\n"
        "    Requests with License Status License expired or Hardware out of tolerance: 0\r\n"
        "    Requests with License Status Non-genuine grace period: 0\r\n"
        "    Requests with License Status Notification: 0\r\n\r\n\r\n")
    assert sh(real_world, "kms01", "cscript //nologo slmgr.vbs /xpr").stdout == (
        b"Windows(R), ServerStandard edition:\r\n    The machine is permanently activated.\r\n\r\n")


def test_world_windows7_uses_slmgr7_and_office2010_ospp(real_world: t.Any) -> None:
    dlv = sh(real_world, "ws02", "cscript //nologo slmgr.vbs /dlv").stdout.decode()
    assert "Product Key Channel" not in dlv and "Configured Activation Type" not in dlv
    assert "Remaining Windows rearm count: 3\r\nTrusted time: 11/1/2026 9:00:00 AM\r\n" in dlv
    ospp = sh(real_world, "ws02",
              'cscript //nologo "C:\\Program Files\\Microsoft Office\\Office14\\OSPP.VBS" /dstatus').stdout.decode()
    assert ospp == (
        "---Processing--------------------------\r\n---------------------------------------\r\n"
        "SKU ID: 6f327760-8c5c-417c-9b61-836a98287e0c\r\n"
        "LICENSE NAME: Office 14, OfficeProPlus-KMS_Client edition\r\n"
        "LICENSE DESCRIPTION: Office 14, VOLUME_KMSCLIENT channel\r\n"
        "LICENSE STATUS:  ---OOB_GRACE--- \r\n"
        "ERROR CODE: 0x4004F00C\r\n"
        "ERROR DESCRIPTION: The Software Licensing Service reported that the application is running within "
        "the valid grace period.\r\n"
        "REMAINING GRACE: 30 days  (43200 minute(s) before expiring)\r\n"
        "Last 5 characters of installed product key: H3GVB\r\n"
        "\tDNS auto-discovery: KMS name not available\r\n"
        "\tActivation Interval: 120 minutes\r\n\tRenewal Interval: 10080 minutes\r\n"
        "\tKMS host caching: Enabled\r\n"
        "---------------------------------------\r\n---------------------------------------\r\n"
        "---Exiting-----------------------------\r\n")


def test_world_office_paths_follow_installed_versions(real_world: t.Any) -> None:
    ok = sh(real_world, "ws01", 'cscript //nologo "%ProgramFiles%\\Microsoft Office\\Office16\\OSPP.VBS" /dstatus')
    assert b"LICENSE NAME: Office 16, Office16ProPlusVL_KMS_Client edition\r\n" in ok.stdout
    assert b"Activation Type Configuration: ALL\r\n" in ok.stdout
    missing = sh(real_world, "ws01", 'cscript //nologo "C:\\Program Files\\Microsoft Office\\Office14\\OSPP.VBS" /dstatus')
    assert missing == CommandResult(
        rc=1, stdout=b'Input Error: Can not find script file "C:\\Program Files\\Microsoft Office\\Office14\\OSPP.VBS".\r\n')
    assert [e["rc"] for e in real_world.host("ws01").request_log if e.get("kind") == "command"] == [0, 1]


def test_world_ja_jp_host(real_world: t.Any) -> None:
    result = sh(real_world, "jp01", "cscript //nologo slmgr.vbs /xpr", codepage=932)
    assert result.stdout.decode("cp932") == (
        "Windows(R), Enterprise edition:\r\n    初期猶予期間の終了日時: 2026/12/01 9:00:00\r\n\r\n")


def test_world_ansible_bootstrap_runs_the_real_module_surface(real_world: t.Any) -> None:
    result = commands.make_runner(real_world, real_world.host("ws01"))(
        _bootstrap_command_line(),
        _payload({"data": "hello"}, "ansible_collections.ansible.windows.plugins.modules.win_ping.ps1"))
    assert result.rc == 0
    assert json.loads(result.stdout)["ping"] == "hello"
    log = real_world.host("ws01").request_log
    assert len(log) == 1 and log[0]["module"] == "ansible.windows.win_ping" and "kind" not in log[0]


def _encoded(script: str) -> str:
    import base64

    b64 = base64.b64encode(script.encode("utf-16-le")).decode()
    return f"PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand {b64}"


@pytest.mark.parametrize(
    "script",
    [
        # what ansible-core's winrm plugin sends for `raw` (no strict mode, no exit-code tail)
        "cscript //nologo slmgr.vbs /xpr",
        # what the PowerShell shell plugin's default _encode_script produces
        "Set-StrictMode -Version Latest\ncscript //nologo slmgr.vbs /xpr\n"
        "If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) "
        "{ exit $LASTEXITCODE } Else { exit 1 } }",
    ],
)
def test_ansible_raw_wrapper_runs_the_native_command(world: FakeWorld, script: str) -> None:
    host = FakeHost()
    assert run(world, host, _encoded(script)).stdout == run(world, host, "cscript //nologo slmgr.vbs /xpr").stdout


@pytest.mark.parametrize("script", ["Get-CimInstance SoftwareLicensingProduct", "cscript a.vbs; Remove-Item x",
                                    "Set-StrictMode -Version Latest\n$x = 1\nexit 0"])
def test_other_powershell_scripts_stay_refused(world: FakeWorld, script: str) -> None:
    result = run(world, FakeHost(), _encoded(script))
    assert result.rc == 1
    assert b"is not simulated" in result.stderr
