"""The verify checks every scenario shares, lab or real Windows: what an administrator reads.

Each check reads the host independently of the collection (``slmgr.vbs`` / ``ospp.vbs`` text
over WinRM, ``dig``, a DCE/RPC bind on the KMS port) and raises AssertionError with what it
saw. The lab scenarios call them with the lab's names; ``real_windows`` with the names in the
user's inventory.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import typing as t

from dcerpc_probe import probe

# Office KMS host product (activation) IDs, by kms_server product name [ODO-HOST, Microsoft's
# "discover and remove unauthorized KMS hosts" article for Office 2010].
OFFICE_HOST_IDS = {
    "office2010": "bfe7a195-4f8f-4f0b-a622-cf13c7d16864",
    "office2016": "98ebfe73-2084-4c97-932c-c0cd1643bea7",
    "office2019": "70512334-47b4-44db-a233-be5ea33b914c",
    "office2021": "47f3b983-7c53-4d45-abc6-bcd91e2dd90a",
    "office2024": "f3d89bbf-c0ec-47ce-a8fa-e5a5f97e447f",
}
OSPP_PATHS = {"2010": "%ProgramFiles%\\Microsoft Office\\Office14\\ospp.vbs",
              "2013": "%ProgramFiles%\\Microsoft Office\\Office15\\ospp.vbs"}
OSPP_DEFAULT = "%ProgramFiles%\\Microsoft Office\\Office16\\ospp.vbs"  # 2016, 2019, LTSC 2021/2024


def run(host: t.Any, command: str) -> str:
    """stdout of ``command`` on a testinfra host; rc must be 0."""
    cmd = host.run(command)
    assert cmd.rc == 0, f"{command}: rc {cmd.rc}: {cmd.stderr}"
    return str(cmd.stdout)


def slmgr(host: t.Any, *args: str) -> str:
    return run(host, "cscript //nologo %SystemRoot%\\System32\\slmgr.vbs " + " ".join(args))


def check_windows_kms_host(host: t.Any, port: int = 1688, dns_publishing: bool = True) -> None:
    """slmgr /dlv: Windows licensed with a KMS host key, the service enabled on ``port``."""
    out = slmgr(host, "/dlv")
    assert "License Status: Licensed" in out, out
    # A host key is a CSVLK: the channel is VOLUME_KMS_<release>, not the client's VOLUME_KMSCLIENT.
    description = next(line for line in out.splitlines() if line.startswith("Description:"))
    assert "VOLUME_KMS" in description and "VOLUME_KMSCLIENT" not in description, description
    assert "Key Management Service is enabled on this machine" in out, out
    assert f"Listening on Port: {port}" in out, out
    if dns_publishing:
        assert "DNS publishing enabled" in out, out


def check_office_host_product(host: t.Any, product: str, name_fragment: str | None = None) -> None:
    """slmgr /dlv <Office KMS host ID>: that host product is licensed."""
    out = slmgr(host, "/dlv", OFFICE_HOST_IDS[product])
    if name_fragment:
        assert name_fragment in out, out
    assert "License Status: Licensed" in out, out


def check_srv_record(domain: str, target: str, port: int = 1688, server: str | None = None,
                     server_port: int | None = None) -> None:
    """dig: ``_vlmcs._tcp.<domain>`` holds ``0 0 <port> <target>.`` (priority and weight 0)."""
    dig = shutil.which("dig")
    assert dig is not None, "dig is not installed (apt-get install bind9-dnsutils)"
    cmd = [dig]
    if server:
        cmd.append(f"@{server}")
    if server_port:
        cmd += ["-p", str(server_port)]
    cmd += ["+short", "SRV", f"_vlmcs._tcp.{domain}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=20).stdout
    wanted = re.compile(rf"^\d+ \d+ {port} {re.escape(target.rstrip('.'))}\.$", re.I)
    assert any(wanted.match(line) for line in out.splitlines()), out


def check_kms_port(address: str, port: int = 1688) -> None:
    """TCP <port> accepts a DCE/RPC bind for the KMS interface (no request: never counted)."""
    result = probe(address, port)
    assert result.accepted, result


def check_windows_client(host: t.Any, kms_host_pattern: str | None = None) -> None:
    """slmgr /dlv: Windows licensed; with a pattern, the KMS host found in DNS matches it."""
    out = slmgr(host, "/dlv")
    assert "License Status: Licensed" in out, out
    if kms_host_pattern:
        assert re.search(rf"KMS machine name from DNS: {kms_host_pattern}", out), out


def check_office_client(host: t.Any, version: str, contains: str | None = None) -> None:
    """ospp.vbs /dstatus of that Office version: licensed; ``contains`` appears (a KMS host)."""
    path = OSPP_PATHS.get(version, OSPP_DEFAULT)
    out = run(host, f'cscript //nologo "{path}" /dstatus')
    assert "LICENSE STATUS:  ---LICENSED---" in out, out
    if contains:
        assert contains in out, out
