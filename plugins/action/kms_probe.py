# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.kms_probe (documentation in plugins/modules/kms_probe.py).

One round trip, read-only: the batch of ``_kms_probe.operations`` (the client's KMS settings,
its domain, the ``_vlmcs._tcp`` SRV query, and a TCP exchange that sends the DCE/RPC bind the
controller built) and the verdict of ``_kms_probe.judge``. No activation request is built or
sent, so the KMS host's count and counters do not change.

What the controller already knows refines the verdict without another round trip: when a KMS
host the client tried is an inventory host whose licensing state was read in this run (the
host-level module's ``volume_activation_host_result.license_info``, or the activation_report
role's ``activation_report_info``), a refused KMS port is told apart as "not a KMS host", "the
wrong port" or "sppsvc stopped". The management ports tried when the KMS port does not answer
are WinRM's (5985, 5986) and every ``ansible_port`` of the inventory: a host Ansible manages
answers on its own.
"""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _action, _kms_probe

#: Where a host's licensing state may already be, in the order tried (dotted names in its hostvars).
STATE_VARS = ("volume_activation_host_result.license_info", "activation_report_info")


class _ProbeReader:
    """The probe's batch as the engine's state reader; the parsed state is the raw results."""

    def __init__(self, ops: list[dict[str, t.Any]]) -> None:
        self._ops = ops

    def operations(self) -> list[dict[str, t.Any]]:
        return self._ops

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> list[t.Mapping[str, t.Any]]:
        return list(results)


def _walk(value: t.Any, path: str) -> t.Any:
    for part in path.split("."):
        if not isinstance(value, t.Mapping) or part not in value:
            return None
        value = value[part]
        if isinstance(value, t.Mapping) and any(value.get(k) for k in ("failed", "unreachable", "skipped")):
            return None
    return value


class ActionModule(_action.LicensingAction):
    """Why can this client not activate: DNS, TCP and the RPC bind from the client, in one round trip."""

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "check_ports": {"type": "list", "elements": "int"},
        "connect_timeout_ms": {"type": "int", "default": 2000},
        "domain": {"type": "str"},
        "kms_host": {"type": "str"},
        "kms_port": {"type": "int", "default": _kms_probe.DEFAULT_PORT},
        "receive_timeout_ms": {"type": "int", "default": 2000},
    }

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        p = ctx.params
        for key in ("connect_timeout_ms", "receive_timeout_ms"):
            if not 100 <= p[key] <= 10000:
                raise _action.LicensingActionError(
                    f"Failed to probe the KMS hosts: {key} must be between 100 and 10000 ms, got {p[key]}")
        if not 1 <= p["kms_port"] <= 65535:
            raise _action.LicensingActionError(
                f"Failed to probe the KMS hosts: kms_port must be a TCP port (1-65535), got {p['kms_port']}")
        for key in ("kms_host", "domain"):
            value = p[key]
            if value is not None and (not value.strip() or not all(c.isalnum() or c in "-._" for c in value.strip())):
                raise _action.LicensingActionError(
                    f"Failed to probe the KMS hosts: {key} '{value}' is not a DNS name or an IPv4 address")
        ports = p["check_ports"]
        if ports is None:
            ports = self._management_ports(ctx.task_vars)
        if len(ports) > 8 or not all(1 <= x <= 65535 for x in ports):
            raise _action.LicensingActionError(
                f"Failed to probe the KMS hosts: check_ports must be up to 8 TCP ports, got {ports}")
        return _ProbeReader(_kms_probe.operations(
            domain=p["domain"], kms_host=p["kms_host"], kms_port=p["kms_port"], check_ports=ports,
            connect_timeout_ms=p["connect_timeout_ms"], receive_timeout_ms=p["receive_timeout_ms"]))

    @staticmethod
    def _management_ports(task_vars: t.Mapping[str, t.Any]) -> list[int]:
        """WinRM's ports and the inventory's ``ansible_port`` values (at most 8 in all)."""
        ports = list(_kms_probe.MANAGEMENT_PORTS)
        hostvars = task_vars.get("hostvars") or {}
        for host in (task_vars.get("groups") or {}).get("all", []):
            value = (hostvars.get(host) or {}).get("ansible_port")
            try:
                port = int(str(value))
            except ValueError:
                continue
            if 0 < port < 65536 and port not in ports:
                ports.append(port)
            if len(ports) >= 8:
                break
        return ports

    def _va_result(self, ctx: _action.ActionContext, before: t.Any, after: t.Any,
                   plan: _action.Plan) -> dict[str, t.Any]:
        hostvars = ctx.task_vars.get("hostvars") or {}
        by_short = {str(h).lower(): str(h) for h in (ctx.task_vars.get("groups") or {}).get("all", [])}

        def lookup(name: str) -> t.Mapping[str, t.Any] | None:
            host = by_short.get(name.strip().rstrip(".").lower()) or by_short.get(_kms_probe.short_name(name))
            if host is None:
                return None
            for path in STATE_VARS:
                found = _walk(hostvars.get(host) or {}, path)
                if isinstance(found, t.Mapping) and "products" in found:
                    return found
            return None

        return _kms_probe.judge(before, lookup)
