"""testinfra hosts over WinRM for the molecule scenarios, built from molecule's inventory.

Molecule's own testinfra wiring passes ``--connection ansible``, which cannot reach Windows (it
falls back to a POSIX shell), so the tests build ``winrm://`` host specs themselves from the
inventory molecule wrote (``MOLECULE_INVENTORY_FILE``): address, port, user, password of each
instance, NTLM over http (testinfra forces NTLM). The lab's own inventory (in the scenario's
ephemeral directory) gives what molecule's does not hold, such as the DNS server of the lab.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
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


def ansible_inventory_hosts(source: str) -> dict[str, dict[str, t.Any]]:
    """host name -> variables (and ``_groups``: the groups it is in) of any inventory source
    Ansible reads (YAML, INI, a directory), resolved by ``ansible-inventory --list``. Vaulted
    values need ANSIBLE_VAULT_PASSWORD_FILE, as for ansible-playbook."""
    exe = shutil.which("ansible-inventory") or str(pathlib.Path(sys.executable).parent / "ansible-inventory")
    out = subprocess.run([exe, "-i", source, "--list"], capture_output=True, text=True, check=True, timeout=120)
    doc = json.loads(out.stdout)
    hostvars: dict[str, dict[str, t.Any]] = doc.get("_meta", {}).get("hostvars", {})
    groups: dict[str, set[str]] = {}

    def walk(group: str, seen: tuple[str, ...]) -> None:
        entry = doc.get(group) or {}
        for h in entry.get("hosts") or []:
            groups.setdefault(h, set()).update((group, *seen))
        for child in entry.get("children") or []:
            walk(child, (*seen, group))

    walk("all", ())
    return {h: {**hostvars.get(h, {}), "_groups": sorted(groups.get(h, set()))} for h in groups}


def winrm_host_from_vars(hv: t.Mapping[str, t.Any]) -> t.Any:
    """A testinfra host for a real Windows host's inventory variables: NTLM (testinfra's only
    transport) over HTTPS (``ansible_winrm_scheme: https``, the default port 5986; certificate
    checks off when ``ansible_winrm_server_cert_validation: ignore``) or over HTTP (5985, every
    message sealed by NTLM). The password may come from WINOPS_REAL_WINDOWS_PASSWORD when the
    inventory vaults it."""
    https = str(hv.get("ansible_winrm_scheme", "https")).lower() == "https"
    port = hv.get("ansible_port") or (5986 if https else 5985)
    password = os.environ.get("WINOPS_REAL_WINDOWS_PASSWORD") or hv.get("ansible_password") or hv.get("ansible_ssh_pass")
    if password is None or isinstance(password, dict):
        raise AssertionError("no clear-text ansible_password for the verify step: set WINOPS_REAL_WINDOWS_PASSWORD "
                             "or ANSIBLE_VAULT_PASSWORD_FILE")
    user = urllib.parse.quote(str(hv["ansible_user"]), safe="")
    query = [] if https else ["no_ssl=true"]
    if https and str(hv.get("ansible_winrm_server_cert_validation", "validate")).lower() == "ignore":
        query.append("no_verify_ssl=true")
    spec = (f"winrm://{user}:{urllib.parse.quote(str(password), safe='')}@{hv.get('ansible_host')}:{port}"
            + ("?" + "&".join(query) if query else ""))
    return testinfra.get_host(spec)
