"""Verify the adba scenario independently of the collection: what an administrator reads over WinRM.

* ``slmgr.vbs /dlv`` on the clients and on mgmt01: Windows is licensed from the Active Directory
  activation object WS2022 ("AD Activation client information", [SLMGR10]);
* ``ospp.vbs /dstatus`` (Office16 folder, Office LTSC 2021 in the Windows SPP): licensed from the object
  Office2021; (Office14 folder, Office 2010 in OSPP): licensed by kms10, its KMS host, because Office
  2010 cannot use AD-based activation.
"""

from __future__ import annotations

import typing as t

import pytest
from molecule_winrm import winrm_host

DOMAIN = "molecule-adba.example.test"
CONTAINER = f"CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC={DOMAIN.replace('.', ',DC=')}"
CLIENTS = ["ws01", "ws02", "ws03", "ws04", "ws05"]
OSPP14 = "%ProgramFiles%\\Microsoft Office\\Office14\\ospp.vbs"
OSPP16 = "%ProgramFiles%\\Microsoft Office\\Office16\\ospp.vbs"


@pytest.fixture(scope="module", params=CLIENTS)
def client(request: pytest.FixtureRequest) -> t.Any:
    return winrm_host(request.param)


def run(host: t.Any, command: str) -> str:
    cmd = host.run(command)
    assert cmd.rc == 0, f"{command}: rc {cmd.rc}: {cmd.stderr}"
    return str(cmd.stdout)


@pytest.mark.parametrize("name", ["mgmt01", *CLIENTS])
def test_windows_is_licensed_from_active_directory(name: str) -> None:
    out = run(winrm_host(name), "cscript //nologo %SystemRoot%\\System32\\slmgr.vbs /dlv")
    assert "License Status: Licensed" in out
    assert "AD Activation client information" in out
    assert "    Activation Object name: WS2022" in out
    assert f"    AO DN: CN=WS2022,{CONTAINER}" in out
    assert "Key Management Service client information" not in out


def test_office_2021_is_licensed_from_active_directory(client: t.Any) -> None:
    out = run(client, f'cscript //nologo "{OSPP16}" /dstatus')
    assert "LICENSE STATUS:  ---LICENSED---" in out
    assert "Most recent successful activation client information: AD" in out
    assert "\tActivation Object name: Office2021" in out


def test_office_2010_is_licensed_by_kms10(client: t.Any) -> None:
    out = run(client, f'cscript //nologo "{OSPP14}" /dstatus')
    assert "LICENSE STATUS:  ---LICENSED---" in out
    assert f"KMS machine registry override defined: kms10.{DOMAIN}:1688" in out
