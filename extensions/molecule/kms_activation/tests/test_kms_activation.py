"""Verify the kms_activation scenario independently of the collection: what an administrator reads
over WinRM on each client.

* ``slmgr.vbs /dlv``: Windows is licensed, activated by kms01 (found in DNS);
* ``ospp.vbs /dstatus``: Office 2016 (Windows SPP) and Office 2010 (OSPP) are licensed; Office
  2010 names kms10, its own KMS host, as the registry override.

The checks are shared with the real_windows scenario (``resources/kms_checks.py``).
"""

from __future__ import annotations

import re
import typing as t

import kms_checks
import pytest
from molecule_winrm import winrm_host

DOMAIN = "molecule-act.example.test"
CLIENTS = ["srv01", "srv02", "srv03", "srv04", "srv05"]


@pytest.fixture(scope="module", params=CLIENTS)
def client(request: pytest.FixtureRequest) -> t.Any:
    return winrm_host(request.param)


def test_windows_is_licensed_by_kms01(client: t.Any) -> None:
    kms_checks.check_windows_client(client, rf"kms01\.{re.escape(DOMAIN)}:1688")


def test_office_2016_is_licensed(client: t.Any) -> None:
    kms_checks.check_office_client(client, "2016", f"kms01.{DOMAIN}:1688")


def test_office_2010_is_licensed_by_kms10(client: t.Any) -> None:
    kms_checks.check_office_client(client, "2010", f"KMS machine registry override defined: kms10.{DOMAIN}:1688")
