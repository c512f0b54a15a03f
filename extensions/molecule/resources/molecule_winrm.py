"""testinfra hosts over WinRM for the molecule scenarios, built from molecule's inventory.

Molecule's own testinfra wiring passes ``--connection ansible``, which cannot reach Windows (it
falls back to a POSIX shell), so the tests build ``winrm://`` host specs themselves from the
inventory molecule wrote (``MOLECULE_INVENTORY_FILE``): address, port, user, password of each
instance, NTLM over http (testinfra forces NTLM). The lab's own inventory (in the scenario's
ephemeral directory) gives what molecule's does not hold, such as the DNS server of the lab.
"""

from __future__ import annotations

import os
import pathlib
import typing as t
import urllib.parse

import testinfra
import yaml


def _walk(group: t.Mapping[str, t.Any], out: dict[str, dict[str, t.Any]], inherited: dict[str, t.Any]) -> None:
    merged = {**inherited, **(group.get("vars") or {})}
    for name, hv in (group.get("hosts") or {}).items():
        out[name] = {**merged, **out.get(name, {}), **(hv or {})}
    for child in (group.get("children") or {}).values():
        _walk(child or {}, out, merged)


def inventory_hosts(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, t.Any]]:
    """host name -> variables, from a YAML inventory (molecule's by default)."""
    p = pathlib.Path(path or os.environ["MOLECULE_INVENTORY_FILE"])
    doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    out: dict[str, dict[str, t.Any]] = {}
    for group in doc.values():
        _walk(group or {}, out, {})
    return out


def lab_inventory() -> dict[str, t.Any]:
    """The inventory `winlab up` wrote for the scenario (all.vars holds the lab's DNS settings)."""
    p = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "lab" / "inventory.yml"
    return t.cast(dict[str, t.Any], yaml.safe_load(p.read_text(encoding="utf-8")))


def winrm_spec(hv: t.Mapping[str, t.Any]) -> str:
    """``winrm://user:password@address:port?no_ssl=true`` (http) for one host's variables."""
    user = urllib.parse.quote(str(hv["ansible_user"]), safe="")
    password = urllib.parse.quote(str(hv.get("ansible_password") or hv.get("ansible_ssh_pass")), safe="")
    return f"winrm://{user}:{password}@{hv['ansible_host']}:{hv['ansible_port']}?no_ssl=true"


def winrm_host(name: str) -> t.Any:
    """A testinfra host for inventory host ``name``."""
    return testinfra.get_host(winrm_spec(inventory_hosts()[name]))
