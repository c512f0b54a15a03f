"""Decoding what ansible-core sends, checked against payloads built by the installed ansible-core
and, end to end, against the real ``ansible`` command talking to the lab's WinRM server."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import subprocess
import sys
import typing as t

import pytest
from ansible.executor.powershell import module_manifest
from ansible.plugins.loader import shell_loader

from winlab.protocols import ansible_payload as ap
from winlab.servers.winrm import WinRMServer
from winlab.types import CommandResult, Endpoint, ModuleCall

pytest.register_assert_rewrite("conftest_winrm")
from conftest_winrm import PASSWORD, USER, next_address  # noqa: E402

pytest_plugins = ["conftest_winrm"]

ANSIBLE = pathlib.Path(sys.executable).with_name("ansible")
MODULE_SOURCE = b"""#!powershell
#AnsibleRequires -CSharpUtil Ansible.Basic
$spec = @{ options = @{}; supports_check_mode = $true }
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.echo = $module.Params
$module.ExitJson()
"""


def _ansible_command_line() -> str:
    """The command line ansible-core's winrm connection runs for a module (pipelining)."""
    shell = shell_loader.get("powershell")
    return t.cast(str, shell.build_module_command("", "#!powershell", ""))


def _module_stdin(
    name: str = "ansible.legacy.echo",
    args: dict[str, t.Any] | None = None,
    source: bytes = MODULE_SOURCE,
    async_timeout: int = 0,
) -> bytes:
    """The stdin ansible-core builds for a module execution (its own manifest builder)."""
    return t.cast(
        bytes,
        module_manifest._create_powershell_wrapper(
            name=name,
            module_data=source,
            module_path=f"/library/{name.rsplit('.', 1)[-1]}.ps1",
            module_args=args if args is not None else {"state": "present", "_ansible_check_mode": True},
            environment={"ANSIBLE_ASYNC_DIR": "C:\\async"} if async_timeout else {},
            async_timeout=async_timeout,
            become_plugin=None,
            substyle="powershell",
            task_vars={},
            profile="legacy",
        ),
    )


def _encode(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


# ------------------------------------------------------------------ command line


def test_ansible_module_command_line_is_the_bootstrap() -> None:
    command_line = _ansible_command_line()
    assert command_line.startswith("PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand ")
    assert ap.is_ansible_bootstrap(command_line)
    script = ap.decode_encoded_command(command_line)
    assert script is not None and "ConvertFrom-Json" in script


# The wrapper of ansible-core 2.10 to 2.18 (split at the NUL line, JSON in $json_raw): still the bootstrap.
_OLD_BOOTSTRAP = """&chcp.com 65001 > $null
$exec_wrapper_str = $input | Out-String
$split_parts = $exec_wrapper_str.Split(@("`0`0`0`0"), 2, [StringSplitOptions]::RemoveEmptyEntries)
If (-not $split_parts.Length -eq 2) { throw "invalid payload" }
Set-Variable -Name json_raw -Value $split_parts[1]
$exec_wrapper = [ScriptBlock]::Create($split_parts[0])
&$exec_wrapper"""


@pytest.mark.parametrize(
    ("command_line", "expected"),
    [
        pytest.param(_ansible_command_line(), True, id="ansible-core-2.19"),
        pytest.param(f"PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand {_encode(_OLD_BOOTSTRAP)}", True, id="older-ansible-core"),
        pytest.param(f"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -enc {_encode(_OLD_BOOTSTRAP.upper())}", True, id="full-path-enc-upper-case"),
        pytest.param(f"type C:\\tmp\\payload | PowerShell -NoProfile -EncodedCommand {_encode(_OLD_BOOTSTRAP)}", True, id="keep-remote-files"),
        pytest.param(f"PowerShell -NoProfile -EncodedCommand {_encode('Write-Output 1')}", False, id="other-encoded-script"),
        pytest.param("powershell -NoProfile -Command \"Get-CimInstance SoftwareLicensingService\"", False, id="command"),
        pytest.param("cscript //nologo C:\\Windows\\System32\\slmgr.vbs /dlv", False, id="cscript"),
        pytest.param("PowerShell -EncodedCommand !!notbase64!!", False, id="malformed"),
    ],
)
def test_is_ansible_bootstrap(command_line: str, expected: bool) -> None:
    assert ap.is_ansible_bootstrap(command_line) is expected


@pytest.mark.parametrize(
    ("command_line", "script"),
    [
        (f"PowerShell -EncodedCommand {_encode('hostname')}", "hostname"),
        (f"pwsh.exe -NoLogo /EncodedCommand {_encode('whoami')}", "whoami"),
        (f"powershell -e {_encode('日本語')}", "日本語"),
        (f"powershell -ec {_encode('a')}", "a"),
        (f"powershell -ExecutionPolicy Bypass -enc {_encode('b')}", "b"),
        (f"powershell -Command -enc {_encode('c')}", None),  # after -Command nothing is a parameter
        ("cmd /c dir", None),
        ("powershell -NoProfile", None),
    ],
)
def test_decode_encoded_command(command_line: str, script: str | None) -> None:
    assert ap.decode_encoded_command(command_line) == script


@pytest.mark.parametrize(
    ("command_line", "message"),
    [
        ("powershell -EncodedCommand", "the encoded script is missing"),
        ("powershell -EncodedCommand abc$", "not base64"),
        (f"powershell -EncodedCommand {base64.b64encode(b'abc').decode()}", "not UTF-16LE text"),
    ],
)
def test_decode_encoded_command_rejects(command_line: str, message: str) -> None:
    with pytest.raises(ap.PayloadError, match=message):
        ap.decode_encoded_command(command_line)


# ------------------------------------------------------------------ stdin


def test_decode_module_call_from_ansible_core_payload() -> None:
    args = {"name": "kms", "port": 1688, "nested": {"list": [1, "two"]}, "_ansible_check_mode": True, "_ansible_diff": False}
    call = ap.decode_module_call(_module_stdin(args=args))
    assert call == ModuleCall(
        name="ansible.legacy.echo",
        script_name="ansible.legacy.echo.ps1",
        args={"name": "kms", "port": 1688, "nested": {"list": [1, "two"]}},
        internal={"_ansible_check_mode": True, "_ansible_diff": False},
        actions=["module_wrapper.ps1"],
        script=MODULE_SOURCE.decode(),  # the module's source, for the host's command resolution
    )
    assert call.check_mode is True and call.diff is False


@pytest.mark.parametrize(
    ("source", "async_timeout", "actions"),
    [
        (MODULE_SOURCE + b"#AnsibleRequires -Become\n", 0, ["become_wrapper.ps1", "module_wrapper.ps1"]),
        (MODULE_SOURCE, 45, ["async_wrapper.ps1", "async_watchdog.ps1", "module_wrapper.ps1"]),
    ],
)
def test_wrapper_actions_are_listed(source: bytes, async_timeout: int, actions: list[str]) -> None:
    call = ap.decode_module_call(_module_stdin(source=source, async_timeout=async_timeout))
    assert call.actions == actions
    assert call.args == {"state": "present"}


def test_exec_payload_exposes_the_module_source_and_wrapper_params() -> None:
    payload = ap.decode_exec_payload(_module_stdin())
    assert payload.wrapper_name == "exec_wrapper"
    assert set(payload.wrapper_params) == {"MinOSVersion", "MinPSVersion", "TempPath"}
    assert payload.script_text("ansible.legacy.echo.ps1") == MODULE_SOURCE.decode()
    assert "Ansible.Basic.cs" in payload.scripts  # the C# util ships with the module
    assert payload.input_data is None


def test_helper_scripts_decode_but_are_not_module_calls() -> None:
    _script, stdin = module_manifest._bootstrap_powershell_script(
        "winrm_put_file.ps1", {"Path": "C:\\x"}, has_input=True
    )
    payload = ap.decode_exec_payload(stdin + b"file data")
    assert payload.action_names == ["winrm_put_file.ps1"]
    assert payload.actions[0].params == {"Path": "C:\\x"}
    assert payload.input_data == b"file data"
    with pytest.raises(ap.PayloadError, match=r"runs 'winrm_put_file\.ps1', not a module"):
        ap.module_call_from_payload(payload)


@pytest.mark.parametrize(
    ("script_name", "name"),
    [
        ("ansible_collections.winops.volume_activation.plugins.modules.licensing_batch.ps1", "winops.volume_activation.licensing_batch"),
        ("ansible_collections.ansible.windows.plugins.modules.win_ping.ps1", "ansible.windows.win_ping"),
        ("ansible_collections.ns.coll.plugins.modules.sub.thing.cs", "ns.coll.sub.thing"),
        ("ansible.modules.win_thing.ps1", "ansible.builtin.win_thing"),
        ("ansible.legacy.my_module.ps1", "ansible.legacy.my_module"),
    ],
)
def test_module_name_from_script(script_name: str, name: str) -> None:
    assert ap.module_name_from_script(script_name) == name


def _mutated(mutate: t.Callable[[dict[str, t.Any]], None]) -> bytes:
    head, manifest = _module_stdin().split(b"\n\0\0\0\0\n", 1)
    data = json.loads(manifest)
    mutate(data)
    return head + b"\n\0\0\0\0\n" + json.dumps(data).encode()


def _set_complex_args(value: object) -> t.Callable[[dict[str, t.Any]], None]:
    def mutate(data: dict[str, t.Any]) -> None:
        data["actions"][-1]["params"]["Variables"][0]["Value"] = value

    return mutate


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        pytest.param(b"", "stdin is empty", id="empty"),
        pytest.param(b'{"name": "exec_wrapper"}', "no line of four NUL bytes", id="no-separator"),
        pytest.param(b"$x = 1\n\0\0\0\0\n{}", "older than 2.19", id="old-format"),
        pytest.param(b"{oops\n\0\0\0\0\n{}", "bootstrap JSON .* is not valid JSON", id="bad-bootstrap-json"),
        pytest.param(b'{"name": 1, "script": ""}\n\0\0\0\0\n{}', "bootstrap 'name' is int", id="bad-name"),
        pytest.param(b'{"name": "exec_wrapper", "script": ""}\n\0\0\0\0\n[1]', "exec manifest is a JSON list", id="manifest-list"),
        pytest.param(b'{"name": "exec_wrapper", "script": ""}\n\0\0\0\0\n{"actions": []}', "has no actions", id="no-actions"),
        pytest.param(_mutated(lambda d: d["scripts"].pop("ansible.legacy.echo.ps1")), "does not ship the module script", id="module-missing"),
        pytest.param(_mutated(_set_complex_args([1, 2])), "complex_args is list, expected dict", id="args-not-dict"),
        pytest.param(_mutated(lambda d: d["actions"][-1].update(name="coverage_wrapper.ps1")), "not a module", id="not-module"),
        pytest.param(_mutated(lambda d: d["actions"][0].update(params="x")), r"manifest action \[0\] 'params' is str", id="params-str"),
    ],
)
def test_malformed_payloads(stdin: bytes, message: str) -> None:
    with pytest.raises(ap.PayloadError, match=message):
        ap.decode_module_call(stdin)


def test_secure_params_stay_out_of_repr() -> None:
    payload = ap.decode_exec_payload(_mutated(lambda d: d["actions"][0].update(secure_params={"BecomePassword": "hunter2"})))
    assert payload.actions[0].secure_params == {"BecomePassword": "hunter2"}
    assert "hunter2" not in repr(payload)


# ------------------------------------------------------------------ end to end with real ansible


class EchoModuleHost:
    """A runner answering module calls the way Ansible.Basic would: ``{"changed": false, "echo": <args>}``."""

    def __init__(self) -> None:
        self.calls: list[ModuleCall] = []
        self.command_lines: list[str] = []

    def __call__(self, command_line: str, stdin: bytes) -> CommandResult:
        self.command_lines.append(command_line)
        if not ap.is_ansible_bootstrap(command_line):
            message = f"'{command_line.split(maxsplit=1)[0]}' is not recognized as an internal or external command,\r\n"
            return CommandResult(rc=9009, stderr=message.encode())
        try:
            call = ap.decode_module_call(stdin)
        except ap.PayloadError as exc:
            return CommandResult(rc=1, stdout=json.dumps({"failed": True, "msg": str(exc)}).encode())
        self.calls.append(call)
        return CommandResult(rc=0, stdout=json.dumps({"changed": False, "echo": call.args}).encode())


ARGS = {
    "name": "Office Professional Plus 2016",
    "count": 25,
    "enabled": True,
    "ratio": 0.5,
    "nested": {"list": [1, "two", None], "quote": "it's \"quoted\""},
    "label": "ボリューム ライセンス",
}


def _run_ansible(tmp_path: pathlib.Path, host_vars: dict[str, t.Any], *extra: str) -> dict[str, t.Any]:
    modules = tmp_path / "ansible_collections" / "labtest" / "probe" / "plugins" / "modules"
    modules.mkdir(parents=True, exist_ok=True)
    (modules / "echo.ps1").write_bytes(MODULE_SOURCE)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"target": host_vars}}}))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
        "ANSIBLE_COLLECTIONS_PATH": str(tmp_path),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "local-tmp"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "NO_PROXY": "*",  # loopback only, never through a proxy
    }
    completed = subprocess.run(
        [str(ANSIBLE), "target", "-i", str(inventory), "-m", "labtest.probe.echo", "-a", json.dumps(ARGS), "--one-line", *extra],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # --one-line: "target | SUCCESS => {...result JSON...}"
    line = next(line for line in completed.stdout.splitlines() if line.startswith("target | "))
    status, _, result = line.partition(" => ")
    assert status == "target | SUCCESS", line
    return t.cast(dict[str, t.Any], json.loads(result))


def _start_on_5985(endpoint_runner: EchoModuleHost, state: pathlib.Path) -> tuple[WinRMServer, Endpoint]:
    """WinRM's default HTTP port on a free lab address (Ansible picks http only for port 5985)."""
    last_error: OSError | None = None
    for _ in range(10):
        endpoint = Endpoint("target", next_address(), {USER: PASSWORD}, endpoint_runner, http_port=5985, https_port=0)
        server = WinRMServer([endpoint], state)
        try:
            server.start()
        except OSError as exc:
            last_error = exc
            continue
        return server, endpoint
    raise AssertionError(f"no free lab address for port 5985: {last_error}")


@pytest.mark.parametrize(
    ("transport", "check_mode"),
    [pytest.param("ntlm", False, id="ntlm-http-5985-sealed"), pytest.param("basic", True, id="basic-https-check-mode")],
)
def test_ansible_runs_a_collection_module_against_the_lab(tmp_path: pathlib.Path, transport: str, check_mode: bool) -> None:
    host = EchoModuleHost()
    server, endpoint = _start_on_5985(host, tmp_path / "state")
    try:
        host_vars: dict[str, t.Any] = {
            "ansible_host": endpoint.address,
            "ansible_user": USER,
            "ansible_password": PASSWORD,
            "ansible_connection": "winrm",
            "ansible_winrm_transport": transport,
        }
        if transport == "ntlm":
            host_vars["ansible_port"] = 5985  # scheme http follows from the port
        else:
            host_vars["ansible_port"] = server.ports(endpoint.name)[1]  # any other port: https
            host_vars["ansible_winrm_server_cert_validation"] = "ignore"
        result = _run_ansible(tmp_path, host_vars, *(["--check"] if check_mode else []))
        stats = server.stats(endpoint.name)
    finally:
        server.stop()

    assert result["echo"] == ARGS
    assert result["changed"] is False
    assert len(host.calls) == 1, host.command_lines  # one module execution = one WinRM round trip
    call = host.calls[0]
    assert call.name == "labtest.probe.echo"
    assert call.script_name == "ansible_collections.labtest.probe.plugins.modules.echo.ps1"
    assert call.args == ARGS
    assert call.actions == ["module_wrapper.ps1"]
    assert call.check_mode is check_mode
    assert stats["commands_run"] == 1
    assert stats["auth_failures"] == 0
