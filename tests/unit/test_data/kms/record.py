"""Record the executor results that the kms_host / kms_firewall / kms_client unit tests replay.

Run from the repository root: ``.venv/bin/python tests/unit/test_data/kms/record.py``.

Each scenario runs the real action plugin with ``_execute_module`` answered by the lab
(``winlab``: the simulated Windows fleet of lab/fleets/small.yml, in process, no sockets)
and writes ``<scenario>.json``: the task arguments and, per round trip, the module
arguments sent and the module result the lab returned (the executor's result shape,
docs/executor-protocol.md). The unit tests replay the results and assert the operations
against their own expectations, never against the recorded ones.

The lab imports nothing from the collection; this script imports both, as tests do.
"""

from __future__ import annotations

import json
import pathlib
import sys
import typing as t

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[3]
sys.path.insert(0, str(ROOT / ".build" / "collections"))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "plugins"))

from conftest import make_action  # noqa: E402

from ansible_collections.winops.volume_activation.plugins.action import (  # noqa: E402
    kms_client,
    kms_firewall,
    kms_host,
)
from winlab.models.world import World  # noqa: E402
from winlab.spec import load_fleet  # noqa: E402
from winlab.surfaces.executor import run_batch  # noqa: E402

SPP_KEY = "HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform"
# The synthetic Windows Server 2022 KMS host key of lab/fleets/small.yml (not a Microsoft key).
SMALL_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"
ACTIONS = {"kms_host": kms_host.ActionModule, "kms_firewall": kms_firewall.ActionModule,
           "kms_client": kms_client.ActionModule}


def world() -> World:
    return World(load_fleet(ROOT / "lab" / "fleets" / "small.yml"))


def prepare(w: World, host: str, operations: list[dict[str, t.Any]], **secrets: list[str]) -> None:
    """Set a host up through the executor surface (what other modules would have done)."""
    res = run_batch(w, w.host(host), {"operations": operations, **secrets})
    bad = [r for r in res["results"] if not r["ok"]]
    if bad:
        raise RuntimeError(f"preparing {host} failed: {bad}")


def make_kms_host(w: World) -> None:
    prepare(w, "kms01", [
        {"op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
         "arguments": {"ProductKey": {"secret": "product_keys", "index": 0}}},
        {"op": "cim_invoke", "class": "SoftwareLicensingProduct", "method": "Activate",
         "filter": "PartialProductKey <> null AND IsKeyManagementServiceMachine = 1"},
    ], product_keys=[SMALL_CSVLK])


def run(w: World, host: str, module: str, args: dict[str, t.Any], *, check_mode: bool = False,
        diff: bool = False) -> tuple[dict[str, t.Any], list[dict[str, t.Any]]]:
    calls: list[dict[str, t.Any]] = []

    def answer(module_args: dict[str, t.Any]) -> dict[str, t.Any]:
        res = run_batch(w, w.host(host), json.loads(json.dumps(module_args)))
        res.pop("_log_ops", None)
        res = json.loads(json.dumps(res, default=str))
        calls.append({"module_args": module_args, "result": res})
        return res

    plugin, _fake = make_action(ACTIONS[module], args, [answer] * 5, check_mode=check_mode, diff=diff,
                                action=f"winops.volume_activation.{module}")
    result = plugin.run(task_vars={})
    return result, calls


def save(name: str, description: str, host: str, module: str, args: dict[str, t.Any], *,
         calls: list[dict[str, t.Any]], **flags: bool) -> None:
    data = {"description": description, "host": host, "module": module, "args": args, **flags,
            "round_trips": [c["result"] for c in calls]}
    (HERE / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{name}: {len(calls)} round trip(s)")


def scenario(name: str, description: str, host: str, module: str, args: dict[str, t.Any], *,
             setup: t.Callable[[World], None] | None = None, **flags: bool) -> dict[str, t.Any]:
    w = world()
    if setup:
        setup(w)
    result, calls = run(w, host, module, args, **flags)
    save(name, description, host, module, args, calls=calls, **flags)
    return result


def main() -> None:
    host_args = {"port": 1689, "dns_publishing": False, "low_priority": True, "activation_interval": 60,
                 "renewal_interval": 1440, "host_caching": False,
                 "publish_domains": [{"domain": "branch.example.test", "priority": 10, "weight": 50}]}
    scenario("host_not_a_host", "kms01 (Windows Server 2022) before a KMS host key is installed: refused",
             "kms01", "kms_host", {"port": 1689})
    scenario("host_change", "kms01, activated KMS host with default settings: every setting changes, sppsvc "
             "restarts in the apply batch", "kms01", "kms_host", host_args, setup=make_kms_host, diff=True)

    def host_configured(w: World) -> None:
        make_kms_host(w)
        run(w, "kms01", "kms_host", host_args)
    scenario("host_noop", "kms01 already configured as asked: one round trip, nothing sent",
             "kms01", "kms_host", host_args, setup=host_configured)
    scenario("host_caching_only", "kms01: only host caching changes, so sppsvc is not restarted",
             "kms01", "kms_host", {"host_caching": False}, setup=make_kms_host)

    def refusing_restart(w: World) -> None:
        make_kms_host(w)
        w.host("kms01").services["sppsvc"].refuse_restart = True  # lab fault sppsvc_restart_refused
    scenario("host_restart_refused", "kms01: the port changes, Windows refuses the sppsvc restart (0x80070005)",
             "kms01", "kms_host", {"port": 1689}, setup=refusing_restart)

    fw_custom = {"port": 1689, "remote_addresses": ["10.20.0.0/16", "LocalSubnet"]}
    scenario("fw_builtin_open", "kms01: enable SPPSVC-In-TCP for 1688 scoped to LocalSubnet, Domain/Private",
             "kms01", "kms_firewall", {}, setup=make_kms_host, diff=True)

    def fw_opened(w: World) -> None:
        make_kms_host(w)
        run(w, "kms01", "kms_firewall", {})
    scenario("fw_builtin_noop", "kms01: SPPSVC-In-TCP already open as asked", "kms01", "kms_firewall", {},
             setup=fw_opened)

    def host_on_1689(w: World) -> None:
        make_kms_host(w)
        run(w, "kms01", "kms_host", {"port": 1689})
    scenario("fw_custom_port_from_host", "kms01 listens on 1689 (kms_host port 1689): the module's own rule "
             "is created for the host's port", "kms01", "kms_firewall",
             {"remote_addresses": fw_custom["remote_addresses"]}, setup=host_on_1689)

    def fw_custom_open(w: World) -> None:
        host_on_1689(w)
        run(w, "kms01", "kms_firewall", fw_custom)
    scenario("fw_absent", "kms01: state=absent removes the module's own rule for 1689", "kms01", "kms_firewall",
             {"port": 1689, "state": "absent"}, setup=fw_custom_open)

    scenario("client_windows_set", "ws01 (Windows 11 Enterprise): KMS host, port, lookup domain, caching off, "
             "KMS-only activation on the service", "ws01", "kms_client",
             {"kms_host": "kms01.small.example.test:1689", "lookup_domain": "small.example.test",
              "host_caching": False, "activation_type": "kms"}, diff=True)

    def ws01_set(w: World) -> None:
        run(w, "ws01", "kms_client", {"kms_host": "kms01.small.example.test:1689"})
    scenario("client_windows_noop", "ws01 already points at kms01:1689", "ws01", "kms_client",
             {"kms_host": "KMS01.small.example.test", "kms_port": 1689}, setup=ws01_set)
    scenario("client_windows_absent", "ws01: state=absent clears host and port (DNS discovery)", "ws01",
             "kms_client", {"state": "absent"}, setup=ws01_set, diff=True)
    scenario("client_office_spp", "ws01 (Windows 11, Office 2016 in SPP): per-product KMS host on the Office KMS "
             "client licenses", "ws01", "kms_client", {"product": "office", "kms_host": "[fd00::10]:1690"})
    scenario("client_office2010_ospp", "ws02 (Windows 7, Office 2010 in OSPP): per-product host, caching on the "
             "OSPP service", "ws02", "kms_client",
             {"product": "office2010", "kms_host": "kms01.small.example.test", "host_caching": False})
    scenario("client_win7_activation_type", "ws02 (Windows 7): activation_type refused before anything is sent",
             "ws02", "kms_client", {"activation_type": "kms"})
    scenario("client_check_mode", "ws01 in check mode: the change is reported, nothing mutating is sent",
             "ws01", "kms_client", {"kms_host": "kms01.small.example.test"}, check_mode=True, diff=True)


if __name__ == "__main__":
    main()
