"""Verify the kms_activation scenario independently of the collection: what an administrator reads
over WinRM on each client.

* ``slmgr.vbs /dlv``: Windows is licensed, activated by kms01 (found in DNS);
* ``ospp.vbs /dstatus``: Office 2016 (Windows SPP) and Office 2010 (OSPP) are licensed; Office
  2010 names kms10, its own KMS host, as the registry override.
"""

from __future__ import annotations

import re
import typing as t

import pytest
from molecule_winrm import winrm_host

DOMAIN = "molecule-act.example.test"
CLIENTS = ["srv01", "srv02", "srv03", "srv04", "srv05"]
OSPP14 = "%ProgramFiles%\\Microsoft Office\\Office14\\ospp.vbs"
OSPP16 = "%ProgramFiles%\\Microsoft Office\\Office16\\ospp.vbs"


@pytest.fixture(scope="module", params=CLIENTS)
def client(request: pytest.FixtureRequest) -> t.Any:
    return winrm_host(request.param)


def run(host: t.Any, command: str) -> str:
    cmd = host.run(command)
    assert cmd.rc == 0, f"{command}: rc {cmd.rc}: {cmd.stderr}"
    return str(cmd.stdout)


def test_windows_is_licensed_by_kms01(client: t.Any) -> None:
    out = run(client, "cscript //nologo %SystemRoot%\\System32\\slmgr.vbs /dlv")
    assert "License Status: Licensed" in out
    assert re.search(rf"KMS machine name from DNS: kms01\.{re.escape(DOMAIN)}:1688", out), out


def test_office_2016_is_licensed(client: t.Any) -> None:
    out = run(client, f'cscript //nologo "{OSPP16}" /dstatus')
    assert "LICENSE STATUS:  ---LICENSED---" in out
    assert f"kms01.{DOMAIN}:1688" in out


def test_office_2010_is_licensed_by_kms10(client: t.Any) -> None:
    out = run(client, f'cscript //nologo "{OSPP14}" /dstatus')
    assert "LICENSE STATUS:  ---LICENSED---" in out
    assert f"KMS machine registry override defined: kms10.{DOMAIN}:1688" in out
