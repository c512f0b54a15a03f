"""Verify the kms_server scenario independently of the collection: what an administrator reads.

* ``slmgr.vbs /dlv`` over WinRM: the Windows product is licensed and the Key Management Service
  is enabled, listening on port 1688; ``/dlv all`` shows the Office LTSC 2021 host product licensed;
* ``dig`` against the lab's BIND: ``_vlmcs._tcp`` has the host's SRV record;
* TCP 1688 of the host accepts a DCE/RPC bind for the KMS interface.
"""

from __future__ import annotations

import shutil
import subprocess
import typing as t

import pytest
from dcerpc_probe import probe
from molecule_winrm import inventory_hosts, lab_inventory, winrm_host

HOST = "kms01"
DOMAIN = "molecule-kms.example.test"
OFFICE2021_HOST_ID = "47f3b983-7c53-4d45-abc6-bcd91e2dd90a"  # Office LTSC 2021 KMS host [ODO-HOST]


@pytest.fixture(scope="module")
def kms01() -> t.Any:
    return winrm_host(HOST)


def slmgr(host: t.Any, *args: str) -> str:
    cmd = host.run("cscript //nologo %SystemRoot%\\System32\\slmgr.vbs " + " ".join(args))
    assert cmd.rc == 0, cmd.stderr
    return str(cmd.stdout)


def test_windows_host_is_licensed_and_kms_enabled_on_1688(kms01: t.Any) -> None:
    out = slmgr(kms01, "/dlv")
    assert "License Status: Licensed" in out
    # The host key is a CSVLK: the channel is VOLUME_KMS_<release>, not the client's VOLUME_KMSCLIENT.
    description = next(line for line in out.splitlines() if line.startswith("Description:"))
    assert "VOLUME_KMS" in description and "VOLUME_KMSCLIENT" not in description, description
    assert "Key Management Service is enabled on this machine" in out
    assert "Listening on Port: 1688" in out
    assert "DNS publishing enabled" in out


def test_office_2021_host_product_is_licensed(kms01: t.Any) -> None:
    out = slmgr(kms01, "/dlv", OFFICE2021_HOST_ID)
    assert "Office 21" in out
    assert "License Status: Licensed" in out


def test_srv_record_is_in_dns() -> None:
    dig = shutil.which("dig")
    if dig is None:
        pytest.skip("dig is not installed (apt-get install bind9-dnsutils)")
    lab_vars = lab_inventory()["all"]["vars"]
    server = lab_vars.get("winlab_dns_server", "127.0.0.1")
    port = lab_vars.get("winlab_dns_port")
    assert port, "the lab inventory names no DNS port (winlab_dns_port)"
    out = subprocess.run([dig, f"@{server}", "-p", str(port), "+short", "SRV", f"_vlmcs._tcp.{DOMAIN}"],
                         capture_output=True, text=True, check=True, timeout=20).stdout
    assert f"0 0 1688 {HOST}.{DOMAIN}." in out.splitlines()


def test_kms_port_accepts_a_dcerpc_bind() -> None:
    address = inventory_hosts()[HOST]["ansible_host"]
    result = probe(address, 1688)
    assert result.accepted, result
