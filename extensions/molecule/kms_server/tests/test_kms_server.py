"""Verify the kms_server scenario independently of the collection: what an administrator reads.

* ``slmgr.vbs /dlv`` over WinRM: the Windows product is licensed and the Key Management Service
  is enabled, listening on port 1688; ``/dlv all`` shows the Office LTSC 2021 host product licensed;
* ``dig`` against the lab's BIND: ``_vlmcs._tcp`` has the host's SRV record;
* TCP 1688 of the host accepts a DCE/RPC bind for the KMS interface.

The checks are shared with the real_windows scenario (``resources/kms_checks.py``).
"""

from __future__ import annotations

import shutil
import typing as t

import kms_checks
import pytest
from molecule_winrm import inventory_hosts, lab_inventory, winrm_host

HOST = "kms01"
DOMAIN = "molecule-kms.example.test"


@pytest.fixture(scope="module")
def kms01() -> t.Any:
    return winrm_host(HOST)


def test_windows_host_is_licensed_and_kms_enabled_on_1688(kms01: t.Any) -> None:
    kms_checks.check_windows_kms_host(kms01, 1688)


def test_office_2021_host_product_is_licensed(kms01: t.Any) -> None:
    kms_checks.check_office_host_product(kms01, "office2021", "Office 21")


def test_srv_record_is_in_dns() -> None:
    if shutil.which("dig") is None:
        pytest.skip("dig is not installed (apt-get install bind9-dnsutils)")
    lab_vars = lab_inventory()["all"]["vars"]
    port = lab_vars.get("winlab_dns_port")
    assert port, "the lab inventory names no DNS port (winlab_dns_port)"
    kms_checks.check_srv_record(DOMAIN, f"{HOST}.{DOMAIN}", 1688, lab_vars.get("winlab_dns_server", "127.0.0.1"),
                                int(port))


def test_kms_port_accepts_a_dcerpc_bind() -> None:
    kms_checks.check_kms_port(inventory_hosts()[HOST]["ansible_host"], 1688)
