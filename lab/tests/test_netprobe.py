"""The executor's network operations (dns_query, tcp_exchange) on a lab without its network:
validation before anything runs, check mode allowed (they are reads), and what Windows reports
when there is no DNS server or the address is off the lab's loopback network. The network
itself (BIND, KMS and WinRM listeners) is exercised end to end by tests/integration/test_kms_probe.py."""

from __future__ import annotations

import json
import typing as t

import pytest

from winlab.models.world import World
from winlab.spec import parse_fleet
from winlab.surfaces.modules import run_module
from winlab.types import ModuleCall

EXECUTOR = "winops.volume_activation.licensing_batch"
SCRIPT = "ansible_collections.winops.volume_activation.plugins.modules.licensing_batch.ps1"
BIND = "BQALAxAAAABIAAAAAQAAAA=="  # any base64


@pytest.fixture
def world() -> World:
    return World(parse_fleet({
        "domain": "corp.example.test", "defaults": {"password": "P@ss"},
        "hosts": [{"name": "pc", "address": "127.0.41.1", "os": "windows-11", "edition": "Enterprise"}]}))


def run(world: World, ops: list[dict[str, t.Any]], check: bool = False) -> tuple[int, dict[str, t.Any]]:
    call = ModuleCall(EXECUTOR, SCRIPT, {"operations": ops},
                      internal={"_ansible_check_mode": check, "_ansible_module_name": EXECUTOR})
    res = run_module(world, world.hosts["pc"], call)
    return res.rc, json.loads(res.stdout.decode())


SERVICE = {"op": "cim_query", "class": "SoftwareLicensingService"}


@pytest.mark.parametrize(("ops", "fragment"), [
    ([{"op": "dns_query", "type": "MX", "name": "x.test"}], "type must be SRV or A"),
    ([{"op": "dns_query", "type": "SRV"}], "give name or name_from"),
    ([{"op": "dns_query", "type": "SRV", "name": "bad name"}], "'bad name' is not a DNS name"),
    ([{"op": "dns_query", "type": "SRV", "name_from": {"prefix": "_vlmcs._tcp.", "first_of": [
        {"result": 0, "property": "Domain"}]}}], "must reference earlier results"),
    ([{"op": "tcp_exchange", "connect_timeout_ms": 50}], "connect_timeout_ms must be 100..10000"),
    ([{"op": "tcp_exchange", "check_ports": list(range(1, 10))}], "check_ports must be up to 8 ports"),
    ([{"op": "tcp_exchange", "targets": [{"host": "kms01", "port": 0}]}], "each target needs"),
    ([SERVICE, {"op": "tcp_exchange", "srv_from": 1}], "srv_from must be the index of an earlier"),
    ([{"op": "tcp_exchange", "send": "not base64!"}], "send must be base64"),
    ([{"op": "tcp_exchange", "frame_length": {"offset": 8, "size": 3}}], "frame_length needs"),
    ([{"op": "tcp_exchange", "hosts": []}], "unsupported key(s) hosts"),
])
def test_validation_refuses_the_batch(world: World, ops: list[dict[str, t.Any]], fragment: str) -> None:
    rc, out = run(world, ops)
    assert rc == 1 and out["failed"] is True and fragment in out["msg"], out
    assert "results" not in out


def test_reads_run_in_check_mode_and_without_a_dns_server_nothing_resolves(world: World) -> None:
    rc, out = run(world, [
        {"op": "cim_query", "class": "Win32_ComputerSystem", "properties": ["Domain"]},
        {"op": "dns_query", "type": "SRV", "name_from": {"prefix": "_vlmcs._tcp.", "first_of": [
            {"result": 0, "property": "Domain"}]}},
        {"op": "tcp_exchange", "targets": [{"host": "kms01", "port": 1688}, {"host": "10.0.0.5", "port": 1688}],
         "send": BIND, "connect_timeout_ms": 200},
    ], check=True)
    assert rc == 0 and out["changed"] is False, out
    srv, tcp = out["results"][1], out["results"][2]
    assert srv["name"] == "_vlmcs._tcp.corp.example.test" and srv["status"] == 9002  # DNS_ERROR_RCODE_SERVER_FAILURE
    assert tcp["source"] == "targets"
    by_host = {x["host"]: x for x in tcp["targets"]}
    assert by_host["kms01"]["addresses"] == [] and by_host["kms01"]["dns_status"] == 9002
    # the lab never leaves loopback: an outside address is unreachable (WSAEHOSTUNREACH)
    assert (by_host["10.0.0.5"]["connected"], by_host["10.0.0.5"]["error_code"]) == (False, 10065)
