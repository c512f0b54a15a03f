"""The Ansible inventory for a running lab fleet.

The inventory reaches every simulated host on its own loopback address over WinRM,
the way Ansible reaches a real Windows host: ``ansible.builtin.winrm`` with NTLM over
http (every message sealed, ``message_encryption: auto``), or Basic over https with
``--transport basic``. Groups come from the fleet file: roles (``kms_hosts``) and
facts (Office installed, Office 2010, Japanese locale).
"""

from __future__ import annotations

import os
import pathlib
import typing as t

import yaml

from winlab.spec import FleetSpec, HostSpec

TRANSPORTS = ("ntlm", "basic")

# Group name -> predicate over a host. Always emitted (possibly empty), so a playbook
# that targets a group the fleet has no member of matches nothing instead of warning.
GROUPS: dict[str, t.Callable[[HostSpec], bool]] = {
    "kms_hosts": lambda h: "kms_host" in h.roles,
    "dns_servers": lambda h: "dns_server" in h.roles,
    "windows_clients": lambda h: "kms_host" not in h.roles,
    "office_clients": lambda h: bool(h.office),
    "office2010_clients": lambda h: any(o.version == "2010" for o in h.office),
    "ja_hosts": lambda h: h.locale == "ja-JP",
}


def _connection_vars(transport: str) -> dict[str, t.Any]:
    if transport == "ntlm":
        return {"ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http"}
    if transport == "basic":
        # Basic only over TLS: a Windows listener refuses Basic on plain http unless
        # AllowUnencrypted is set, and so does the lab.
        return {"ansible_winrm_transport": "basic", "ansible_winrm_scheme": "https"}
    raise ValueError(f"transport '{transport}' is not one of {', '.join(TRANSPORTS)}")


def dns_vars(dns: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Group vars that point playbooks at the lab's DNS server and its dynamic-update key,
    from ``Lab.dns_info()`` / ``ControlClient.dns_info()``: ``winlab_dns_server``
    (127.0.0.1), ``winlab_dns_port``, ``winlab_dns_zone``, ``winlab_tsig_key_name``,
    ``winlab_tsig_algorithm`` and ``winlab_tsig_key_secret`` (the lab's own synthetic key)."""
    return {
        "winlab_dns_server": str(dns["server"]),
        "winlab_dns_port": int(dns["port"]),
        "winlab_dns_zone": str(dns["zone"]),
        "winlab_tsig_key_name": str(dns["tsig_key_name"]),
        "winlab_tsig_algorithm": str(dns["tsig_algorithm"]),
        "winlab_tsig_key_secret": str(dns["tsig_key_secret"]),
    }


def render_inventory(spec: FleetSpec, lab_ports: t.Mapping[str, tuple[int, int]],
                     transport: str = "ntlm", dns: t.Mapping[str, t.Any] | None = None) -> str:
    """Render the YAML inventory for ``spec``.

    ``lab_ports`` maps each host name (any case) to the ``(http, https)`` ports the
    running lab bound for it; a host missing from it uses the ports from the fleet file.
    ``transport`` is ``ntlm`` (http port, sealed NTLM) or ``basic`` (https port).
    User and password go to ``all.vars`` when every host shares them, otherwise to the
    hosts that differ. ``dns`` (``Lab.dns_info()``) adds the lab DNS server and TSIG key
    to ``all.vars`` (see ``dns_vars``). The result contains the (synthetic) lab passwords
    and TSIG secret: write it to a file, never to a terminal or log.
    """
    conn = _connection_vars(transport)
    ports = {name.lower(): p for name, p in lab_ports.items()}
    common_user = spec.hosts[0].username if spec.hosts else "Administrator"
    common_password = spec.hosts[0].password if spec.hosts else ""
    all_vars: dict[str, t.Any] = {
        "ansible_connection": "winrm",
        **conn,
        "ansible_user": common_user,
        "ansible_password": common_password,
        "ansible_winrm_server_cert_validation": "ignore",
        **(dns_vars(dns) if dns is not None else {}),
    }
    hosts: dict[str, dict[str, t.Any]] = {}
    for h in spec.hosts:
        http_port, https_port = ports.get(h.name.lower(), (h.http_port, h.https_port))
        hv: dict[str, t.Any] = {
            "ansible_host": h.address,
            "ansible_port": http_port if transport == "ntlm" else https_port,
        }
        if h.username != common_user:
            hv["ansible_user"] = h.username
        if h.password != common_password:
            hv["ansible_password"] = h.password
        hosts[h.name] = hv
    children: dict[str, t.Any] = {
        group: {"hosts": {h.name: None for h in spec.hosts if member(h)}}
        for group, member in GROUPS.items()
    }
    doc = {"all": {"vars": all_vars, "hosts": hosts, "children": children}}
    header = (
        f"# Ansible inventory for the winlab fleet '{spec.domain}' ({len(spec.hosts)} hosts),\n"
        "# written by 'winlab up'. The passwords and the TSIG key are the lab's synthetic ones.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def write_inventory(path: str | os.PathLike[str], text: str) -> pathlib.Path:
    """Write ``text`` to ``path`` atomically with mode 0600 (it holds passwords)."""
    p = pathlib.Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, p)
    return p
