"""A long Activate(): three KMS client products against a KMS host that never answers.

On Windows, Activate() against an unreachable KMS host blocks for the TCP connect timeout of
every host it tries (about 21 s: SYN plus two retransmissions), once per product. Meanwhile
WinRM holds each Receive until the client's OperationTimeout and then answers the
``w:TimedOut`` fault (wsman fault code 2150858793); pywinrm raises WinRMOperationTimeoutError
for that code and ansible's winrm connection plugin polls again until the command ends. The
lab's fault ``kms_no_answer`` makes the KMS port drop packets for ``delay`` seconds of real
time, and its WinRM listener answers Receives exactly so (``operation_timeouts`` counts them).

Real ansible-playbook and pywinrm; the lab's event log is the independent check that each
product really tried the host.
"""

from __future__ import annotations

import time
import typing as t

import pytest

from .conftest import Ansible, LabHandle

ZONE = "slow.example.test"
FLEET: dict[str, t.Any] = {
    "lab": {"seed": 5, "start": "2026-11-01T09:00:00Z", "dns_port": 0},
    "domain": ZONE,
    "defaults": {"username": "Administrator", "password": "Slow-Lab-Pw1", "http_port": 0, "https_port": 0},
    "hosts": [
        {"name": "kms01", "address": "127.0.40.10", "os": "windows-server-2022", "edition": "ServerStandard"},
        {"name": "ws01", "address": "127.0.40.11", "os": "windows-11", "edition": "Enterprise",
         "office": [{"version": "2016", "products": ["ProPlus", "VisioPro"]}]},
    ],
}
PLAY = f"""\
- hosts: ws01
  gather_facts: false
  tasks:
    - name: Point Windows at kms01
      winops.volume_activation.kms_client:
        product: windows
        kms_host: kms01.{ZONE}
    - name: Point Office at kms01
      winops.volume_activation.kms_client:
        product: office
        kms_host: kms01.{ZONE}
    - name: Activate
      winops.volume_activation.activation:
        product: all
      ignore_errors: true
"""


@pytest.fixture(scope="module")
def slow_lab(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(FLEET)


@pytest.fixture
def slow(slow_lab: LabHandle) -> t.Iterator[LabHandle]:
    slow_lab.lab.reset()
    yield slow_lab
    slow_lab.lab.clear()


def _attempts(handle: LabHandle, since: int) -> list[dict[str, t.Any]]:
    """The client's KMS attempts (event 12288) after the first ``since`` events."""
    return [e for e in handle.lab.host_state("ws01")["events"][since:] if e["id"] == 12288]


def _run(handle: LabHandle, ansible: Ansible, delay: float, extra_vars: dict[str, t.Any] | None) -> tuple[
        dict[str, t.Any], float, int, list[dict[str, t.Any]]]:
    handle.lab.fault("kms01", "kms_no_answer", delay=delay)
    events = len(handle.lab.host_state("ws01")["events"])
    before = handle.lab.server.stats("ws01")["operation_timeouts"]
    start = time.monotonic()
    run = ansible.run(PLAY, handle, extra_vars=extra_vars)
    elapsed = time.monotonic() - start
    for point in ("Point Windows at kms01", "Point Office at kms01"):
        assert run.result(point, "ws01")["_status"] != "failed", run.stdout[-2000:]
    timeouts = handle.lab.server.stats("ws01")["operation_timeouts"] - before
    print(f"delay={delay} elapsed={elapsed:.1f}s operation_timeouts={timeouts}")
    return run.result("Activate", "ws01"), elapsed, timeouts, _attempts(handle, events)


def _assert_clear_outcome(result: dict[str, t.Any], attempts: list[dict[str, t.Any]], delay: float) -> None:
    assert result["_status"] == "failed"
    assert "0xC004F074 (SL_E_VL_BINDING_SERVICE_UNAVAILABLE)" in result["msg"]
    assert f"kms01.{ZONE}:1688" in result["msg"]
    products = result["products"]
    assert len(products) == 3
    assert {p["outcome"] for p in products} == {"failed"}
    assert {p["hresult"]["hex"] for p in products} == {"0xC004F074"}
    # each product really tried kms01 and waited for it
    assert len(attempts) == 3
    assert all(a["unreachable"] and f"no answer within {delay:g} s" in a["unreachable"][0] for a in attempts)


def test_lowered_operation_timeout_polls_through_timed_out_faults(slow: LabHandle, ansible: Ansible) -> None:
    """2 s per product, OperationTimeout 1 s: the Receive times out several times, ansible polls on."""
    result, elapsed, timeouts, attempts = _run(
        slow, ansible, 2.0, {"ansible_winrm_operation_timeout_sec": 1, "ansible_winrm_read_timeout_sec": 5})
    _assert_clear_outcome(result, attempts, 2.0)
    assert elapsed >= 6
    assert timeouts >= 4  # 6 s of Activate() at 1 s per Receive, less what the output Receive took


def test_default_winrm_settings_survive_an_activate_longer_than_the_operation_timeout(
        slow: LabHandle, ansible: Ansible) -> None:
    """ansible-core's defaults (pywinrm: OperationTimeout 20 s, read timeout 30 s) and 3 x 8 s of
    Activate(): one Receive ends in w:TimedOut at 20 s, the next one gets the result."""
    result, elapsed, timeouts, attempts = _run(slow, ansible, 8.0, None)
    _assert_clear_outcome(result, attempts, 8.0)
    assert elapsed >= 24
    assert timeouts >= 1
