"""Verify the real_windows scenario with the lab scenarios' checks (``resources/kms_checks.py``).

Hosts and what to expect come from the inventory named by ``WINOPS_REAL_WINDOWS_INVENTORY``
(resolved with ``ansible-inventory``, so YAML, INI and directories work): group ``kms_hosts``
(``kms_server_host_keys``, ``kms_server_port``, ``kms_server_dns_publishing``) and group
``windows_clients`` (``winops_verify_office``: Office versions installed). Without that variable
every test is skipped, and says why.
"""

from __future__ import annotations

import os
import typing as t

import kms_checks
import pytest
from molecule_winrm import ansible_inventory_hosts, winrm_host_from_vars

INVENTORY = os.environ.get("WINOPS_REAL_WINDOWS_INVENTORY", "")
SKIP_REASON = ("SKIPPED: WINOPS_REAL_WINDOWS_INVENTORY is not set: no real Windows hosts to verify "
               "(extensions/molecule/real_windows/README.md)")


def _hosts(group: str) -> list[tuple[str, dict[str, t.Any]]]:
    if not INVENTORY:
        return []
    return sorted((name, hv) for name, hv in ansible_inventory_hosts(INVENTORY).items() if group in hv["_groups"])


KMS_HOSTS = _hosts("kms_hosts")
CLIENTS = _hosts("windows_clients")
pytestmark = pytest.mark.skipif(not INVENTORY, reason=SKIP_REASON)


def _ids(items: list[tuple[str, dict[str, t.Any]]]) -> list[str]:
    return [item[0] for item in items]


@pytest.fixture(params=KMS_HOSTS or [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON if not INVENTORY
                                                                               else "no host in group kms_hosts"))],
                ids=_ids(KMS_HOSTS) or ["no-kms-host"])
def kms_host(request: pytest.FixtureRequest) -> tuple[str, dict[str, t.Any], t.Any]:
    name, hv = request.param
    return name, hv, winrm_host_from_vars(hv)


@pytest.fixture(params=CLIENTS or [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON if not INVENTORY
                                                                             else "no host in group windows_clients"))],
                ids=_ids(CLIENTS) or ["no-client"])
def client(request: pytest.FixtureRequest) -> tuple[str, dict[str, t.Any], t.Any]:
    name, hv = request.param
    return name, hv, winrm_host_from_vars(hv)


def _products(hv: t.Mapping[str, t.Any]) -> list[str]:
    return [str(k.get("product", "windows")) for k in hv.get("kms_server_host_keys") or []]


def test_kms_host_windows_is_licensed_and_kms_enabled(kms_host: tuple[str, dict[str, t.Any], t.Any]) -> None:
    _name, hv, host = kms_host
    if "windows" not in _products(hv):
        pytest.skip("this KMS host hosts no Windows product (kms_server_host_keys)")
    kms_checks.check_windows_kms_host(host, int(hv.get("kms_server_port", 1688)),
                                      bool(hv.get("kms_server_dns_publishing", True)))


def test_kms_host_office_products_are_licensed(kms_host: tuple[str, dict[str, t.Any], t.Any]) -> None:
    _name, hv, host = kms_host
    office = [p for p in _products(hv) if p in kms_checks.OFFICE_HOST_IDS]
    if not office:
        pytest.skip("this KMS host hosts no Office product (kms_server_host_keys)")
    for product in office:
        kms_checks.check_office_host_product(host, product)


def test_kms_host_srv_record_is_in_dns(kms_host: tuple[str, dict[str, t.Any], t.Any]) -> None:
    name, hv, _host = kms_host
    domain = hv.get("winops_verify_dns_domain")
    if not domain or not hv.get("kms_server_dns_publishing", True):
        pytest.skip("no winops_verify_dns_domain in the inventory, or the host does not publish itself")
    target = hv.get("winops_verify_fqdn") or f"{name}.{domain}"
    dns_port = hv.get("winops_verify_dns_port")
    kms_checks.check_srv_record(str(domain), str(target), int(hv.get("kms_server_port", 1688)),
                                hv.get("winops_verify_dns_server"), int(dns_port) if dns_port else None)


def test_kms_host_port_accepts_a_dcerpc_bind(kms_host: tuple[str, dict[str, t.Any], t.Any]) -> None:
    name, hv, _host = kms_host
    kms_checks.check_kms_port(str(hv.get("ansible_host", name)), int(hv.get("kms_server_port", 1688)))


def test_client_windows_is_licensed(client: tuple[str, dict[str, t.Any], t.Any]) -> None:
    _name, _hv, host = client
    kms_checks.check_windows_client(host)


def test_client_office_is_licensed(client: tuple[str, dict[str, t.Any], t.Any]) -> None:
    _name, hv, host = client
    versions = [str(v) for v in hv.get("winops_verify_office") or []]
    if not versions:
        pytest.skip("winops_verify_office lists no Office version for this client")
    for version in versions:
        kms_checks.check_office_client(host, version)
