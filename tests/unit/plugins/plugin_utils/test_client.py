from __future__ import annotations

import typing as t
from unittest import mock

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _client
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
    DisplayRecorder,
    FakeExecutor,
    make_task,
)

KEY = "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"
KEY_BODY = KEY[:23]  # everything that must never be shown


class FakeAction:
    """The part of ActionBase the client uses."""

    def __init__(self, responses: t.Iterable[t.Any], check_mode: bool = False) -> None:
        self._task = make_task({}, check_mode=check_mode)
        self._execute_module = FakeExecutor(self._task, responses)


def install_batch() -> _client.Batch:
    b = _client.Batch()
    b.add(_client.cim_invoke("SoftwareLicensingService", "InstallProductKey",
                             arguments={"ProductKey": b.product_key(KEY.lower())}))
    b.add(_client.cim_invoke("SoftwareLicensingService", "RefreshLicenseStatus"))
    b.add(_client.cim_query("SoftwareLicensingProduct", filter="PartialProductKey <> null",
                            properties=["ID", "PartialProductKey"]))
    return b


def test_batch_secret_references() -> None:
    b = install_batch()
    assert b.operations[0] == {
        "op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
        "arguments": {"ProductKey": {"secret": "product_keys", "index": 0}},
    }
    assert b.product_keys == [KEY]  # normalized, stored once
    assert b.product_key(KEY) == {"secret": "product_keys", "index": 0}
    assert b.confirmation_id("111111-222222") == {"secret": "confirmation_ids", "index": 0}
    assert b.mutating and len(b) == 3
    assert KEY_BODY not in repr(b)


def test_batch_rejects_unknown_op_and_bad_key() -> None:
    b = _client.Batch()
    with pytest.raises(ValueError, match="unknown executor operation 'cim_exec'"):
        b.add({"op": "cim_exec"})
    with pytest.raises(ValueError, match="contains 'A'"):
        b.product_key("VDYBA-27WPP-V4HQT-9VMD4-VMK7H")


def test_read_only_batch_is_not_mutating() -> None:
    b = _client.Batch()
    b.extend([_client.cim_query("SoftwareLicensingService"), {"op": "reg_get", "path": "HKLM:\\X"}])
    assert not b.mutating


def test_run_sends_one_module_call_and_parses(display_recorder: DisplayRecorder) -> None:
    echo = f"The Software Licensing Service reported that the product key {KEY} is invalid."
    response = {
        "changed": False,
        "invocation": {"module_args": {"product_keys": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}},
        "results": [
            {"op": "cim_invoke", "ok": False, "hresult": 3221549136, "hresult_hex": "0xC004F050", "error": echo,
             "matched": 1, "invocations": [{"key": {"Version": "10.0"}, "return_value": None, "out": {},
                                            "hresult": 3221549136, "hresult_hex": "0xC004F050", "error": echo}]},
            {"op": "cim_invoke", "ok": False, "skipped": True},
            {"op": "cim_query", "ok": False, "skipped": True},
        ],
    }
    action = FakeAction([response])
    client = _client.LicensingClient(action, {"v": 1}, "product_key")
    res = client.run(install_batch())
    call = action._execute_module.calls[0]
    assert call["module_name"] == "winops.volume_activation.licensing_batch"
    assert call["module_args"]["product_keys"] == [KEY]  # the only place a key travels
    assert call["module_args"]["stop_on_error"] is True
    assert "confirmation_ids" not in call["module_args"]
    assert KEY_BODY not in str(call["module_args"]["operations"])
    assert client.round_trips == 1
    first = res[0]
    assert first.failed and first.hresult == 0xC004F050
    assert first.message == ("0xC004F050 (SL_E_INVALID_PRODUCT_KEY): the Software Licensing Service reported that "
                             "the product key is invalid")
    assert first.error is not None and KEY_BODY not in first.error and "XXXXX-XXXXX-XXXXX-XXXXX-VMK7H" in first.error
    assert KEY_BODY not in str(first.invocations)
    assert res[1].skipped and not res[1].failed
    assert [r.index for r in res.failures] == [0]
    # logging: prefix, explained HRESULT, and never the key
    assert all(m.startswith("winops.volume_activation.product_key: ") for _name, m in display_recorder.messages)
    assert any(level == "vvvv" and "results:" in m for level, m in display_recorder.messages)
    assert any(level == "vvv" and "SL_E_INVALID_PRODUCT_KEY" in m for level, m in display_recorder.messages)
    assert KEY_BODY not in display_recorder.text and KEY.lower()[:23] not in display_recorder.text


@pytest.mark.parametrize(
    ("response", "match"),
    [
        ({"failed": True, "msg": f"operation 0: bad secret reference near {KEY}"},
         "the licensing executor failed: operation 0: bad secret reference near XXXXX-XXXXX-XXXXX-XXXXX-VMK7H"),
        ({"changed": False, "results": []}, "returned 0 results for 3 operations"),
        ({"changed": False}, "returned no results for 3 operations"),
        ({"skipped": True, "msg": "remote module does not support check mode"}, "was skipped"),
    ],
)
def test_executor_failures(response: dict[str, t.Any], match: str, display_recorder: DisplayRecorder) -> None:
    client = _client.LicensingClient(FakeAction([response]), {}, "product_key")
    with pytest.raises(_client.ExecutorError, match=match) as e:
        client.run(install_batch())
    assert KEY_BODY not in str(e.value) and KEY_BODY not in str(e.value.result)
    assert KEY_BODY not in display_recorder.text


def test_check_mode_refuses_mutating_batches() -> None:
    action = FakeAction([], check_mode=True)
    client = _client.LicensingClient(action, {}, "product_key", check_mode=True)
    with pytest.raises(_client.CheckModeViolation, match=r"cim_invoke SoftwareLicensingService\.InstallProductKey"):
        client.run(install_batch())
    assert action._execute_module.calls == []


def test_check_mode_reads_run_in_check_mode() -> None:
    b = _client.Batch()
    b.add(_client.cim_query("SoftwareLicensingService"))
    action = FakeAction([{"changed": False, "results": [{"op": "cim_query", "ok": True, "instances": [{}]}]}],
                        check_mode=True)
    client = _client.LicensingClient(action, {}, "license_info", check_mode=True)
    res = client.run(b, stop_on_error=False)
    assert res[0].ok and res[0].instances == [{}]
    # the executor supports check mode: the read is sent with the task's check mode as it is
    assert action._execute_module.calls[0]["check_mode"] is True
    assert action._task.check_mode is True
    assert action._execute_module.calls[0]["module_args"]["stop_on_error"] is False


def test_empty_batch_costs_nothing() -> None:
    action = FakeAction([])
    client = _client.LicensingClient(action, {}, "license_info")
    assert len(client.run(_client.Batch())) == 0
    assert client.round_trips == 0


def test_summarize() -> None:
    assert _client.summarize({"op": "reg_get", "path": "HKLM:\\X"}) == "reg_get HKLM:\\X"
    assert _client.summarize(_client.cim_invoke("C", "M", static=True)) == "cim_invoke C.M"


@pytest.mark.parametrize(("verbosity", "built"), [(0, []), (3, [2, 3]), (4, [2, 3, 4])])
def test_log_builds_nothing_below_the_verbosity(monkeypatch: pytest.MonkeyPatch, verbosity: int,
                                                built: list[int]) -> None:
    """A module execution at the default verbosity spends no CPU on its -vvvv JSON dumps."""
    from ansible.utils.display import Display

    disp = Display()
    monkeypatch.setattr(disp, "verbosity", verbosity)
    monkeypatch.setattr(_client, "display", disp)
    client = _client.LicensingClient(mock.MagicMock(), {}, "license_info")
    calls: list[int] = []

    def message(level: int) -> t.Callable[[], str]:
        def build() -> str:
            calls.append(level)
            return f"level {level}"
        return build

    for level in (2, 3, 4):
        client.log(level, message(level))
    assert calls == built


# --------------------------------------------------------------------------- connection failures (issue 11 item 9)

_WHERE = {"inventory_hostname": "ws01", "ansible_host": "10.0.0.11", "ansible_port": 5985}


def test_a_dropped_connection_says_what_happened_and_what_to_do() -> None:
    error = ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection'))")
    read = _client.connection_message(_WHERE, error, mutating=False, connected=True)
    assert read.startswith("Failed to run the licensing executor on 'ws01' (10.0.0.11:5985): the WinRM connection "
                           "was dropped before the host answered, so nothing was changed; run the task again.")
    change = _client.connection_message(_WHERE, error, mutating=True, connected=True)
    assert "the change may or may not have been made: run the task again - it reads the host first" in change
    assert change.endswith("(ConnectionError: ('Connection aborted.', RemoteDisconnected('Remote end closed "
                           "connection')))")


def test_a_refused_connection_and_rejected_credentials_differ() -> None:
    refused = _client.connection_message(_WHERE, OSError("[Errno 111] Connection refused"), True, connected=False)
    assert refused.startswith("Failed to connect to 'ws01' (10.0.0.11:5985) over WinRM: the host does not accept "
                              "the connection")
    assert "nothing was sent" in refused
    creds = _client.connection_message(_WHERE, OSError("ntlm: the specified credentials were rejected by the server"),
                                       True, connected=False)
    assert creds.startswith("Failed to log on to 'ws01' (10.0.0.11:5985) over WinRM: the host refused the "
                            "credentials; nothing was sent.")
