"""Record the executor results that the product_key / activation unit tests replay.

Run from the repository root: ``.venv/bin/python tests/unit/test_data/product_key/record.py``.

Each scenario runs the real action plugin with ``_execute_module`` answered by the lab
(``winlab``, the fleet ``FLEET`` below, in process, no sockets) and writes
``<scenario>.json``: the task arguments and, per round trip, the module result the lab
returned (the executor's result shape, docs/executor-protocol.md). The unit tests replay
the results and assert the operations against their own expectations, never against the
recorded ones. The lab imports nothing from the collection; this script imports both.

Every product key below is SYNTHETIC (random product-key characters, at most one N), except
the public KMS client setup keys the lab preinstalls, which are Microsoft's published GVLKs.
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

from ansible_collections.winops.volume_activation.plugins.action import activation, product_key  # noqa: E402
from winlab.models.world import World  # noqa: E402
from winlab.spec import parse_fleet  # noqa: E402
from winlab.surfaces.executor import run_batch  # noqa: E402

WS2022_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"
OFFICE2010_CSVLK = "FWBH6-F4PKH-RP9BH-9KTQP-KVTXC"
PRO_MAK = "F6G9Y-G2WJW-VHJXC-H4RRX-7T794"
ENT_MAK = "PCFHM-B7PB2-XQQWT-HCR6Q-J99YY"
OFFICE2010_MAK = "MKDT7-XW3YG-PQ82B-JJRW6-4H9CV"
UNKNOWN_KEY = "QXG4C-R7W8B-YV4KM-29DGH-TB3J6"

FLEET: dict[str, t.Any] = {
    "lab": {"seed": 11, "start": "2026-11-01T09:00:00Z", "dns_port": 0},
    "domain": "pk.example.test",
    "defaults": {"username": "Administrator", "password": "Pk-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [
        {"name": "ws2022-csvlk", "kind": "csvlk", "product": "windows-server-2022", "key": WS2022_CSVLK},
        {"name": "office2010-csvlk", "kind": "csvlk", "product": "office-2010", "key": OFFICE2010_CSVLK},
        {"name": "pro-mak", "kind": "mak", "product": "windows-11/Professional", "count": 3, "key": PRO_MAK},
        {"name": "ent-mak", "kind": "mak", "product": "windows-11/Enterprise", "count": 3, "key": ENT_MAK},
        {"name": "o2010-mak", "kind": "mak", "product": "office-2010/ProPlus", "count": 3, "key": OFFICE2010_MAK},
    ],
    "hosts": [
        {"name": "kms01", "address": "127.0.30.10", "os": "windows-server-2022", "edition": "ServerStandard",
         "roles": ["kms_host"]},
        {"name": "kms7", "address": "127.0.30.9", "os": "windows-server-2008-r2", "edition": "ServerStandard"},
        {"name": "srv01", "address": "127.0.30.20", "os": "windows-server-2022", "edition": "ServerDatacenter"},
        {"name": "ws01", "address": "127.0.30.11", "os": "windows-11", "edition": "Enterprise",
         "office": [{"version": "2016", "products": ["ProPlus"]}]},
        {"name": "ws02", "address": "127.0.30.12", "os": "windows-7", "edition": "Enterprise",
         "office": [{"version": "2010", "products": ["ProPlus"]}]},
        {"name": "pro01", "address": "127.0.30.13", "os": "windows-11", "edition": "Professional"},
        {"name": "home01", "address": "127.0.30.14", "os": "windows-11", "edition": "Core"},
    ],
}
ACTIONS = {"product_key": product_key.ActionModule, "activation": activation.ActionModule}


def world() -> World:
    return World(parse_fleet(json.loads(json.dumps(FLEET))))


def prepare(w: World, host: str, operations: list[dict[str, t.Any]], **secrets: list[str]) -> list[dict[str, t.Any]]:
    """Set a host up through the executor surface (what other modules would have done)."""
    res = run_batch(w, w.host(host), {"operations": operations, **secrets})
    bad = [r for r in res["results"] if not r["ok"]]
    if bad:
        raise RuntimeError(f"preparing {host} failed: {bad}")
    return list(res["results"])


def install(w: World, host: str, key: str, service: str = "SoftwareLicensingService") -> None:
    prepare(w, host, [{"op": "cim_invoke", "class": service, "method": "InstallProductKey",
                       "arguments": {"ProductKey": {"secret": "product_keys", "index": 0}}}], product_keys=[key])


def activate_where(w: World, host: str, flt: str, cls: str = "SoftwareLicensingProduct") -> None:
    prepare(w, host, [{"op": "cim_invoke", "class": cls, "method": "Activate", "filter": flt}])


def make_kms01_host(w: World) -> None:
    install(w, "kms01", WS2022_CSVLK)
    activate_where(w, "kms01", "PartialProductKey <> null AND IsKeyManagementServiceMachine = 1")
    prepare(w, "kms01", [{"op": "firewall_set", "name": "SPPSVC-In-TCP", "enabled": True,
                          "remote_addresses": ["Any"]}])


def pro01_mak_activated(w: World) -> None:
    install(w, "pro01", PRO_MAK)
    activate_where(w, "pro01", "PartialProductKey <> null AND Description LIKE '%MAK%'")


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


def scenario(name: str, description: str, host: str, module: str, args: dict[str, t.Any], *,
             setup: t.Callable[[World], None] | None = None, **flags: bool) -> dict[str, t.Any]:
    w = world()
    if setup:
        setup(w)
    result, calls = run(w, host, module, args, **flags)
    data = {"description": description, "host": host, "module": module, "args": args, **flags,
            "round_trips": [c["result"] for c in calls]}
    (HERE / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{name}: {len(calls)} round trip(s): changed={result.get('changed')} failed={result.get('failed')} "
          f"msg={result.get('msg')}")
    return result


def main() -> None:
    # ---------------------------------------------------------------- product_key
    scenario("pk_auto_noop", "ws01 (Windows 11 Enterprise, Office 2016 ProPlus VL): gvlk=auto finds both GVLKs in "
             "place", "ws01", "product_key", {"gvlk": "auto"})
    scenario("pk_mak_install", "pro01 (Windows 11 Pro, GVLK): install a MAK for Windows", "pro01", "product_key",
             {"key": PRO_MAK, "key_type": "mak", "product": "windows"}, diff=True)
    scenario("pk_mak_check_mode", "pro01: the same in check mode", "pro01", "product_key",
             {"key": PRO_MAK, "key_type": "mak", "product": "windows"}, check_mode=True, diff=True)

    def pro01_mak(w: World) -> None:
        install(w, "pro01", PRO_MAK)
    scenario("pk_mak_noop", "pro01 with the MAK already installed: nothing to do", "pro01", "product_key",
             {"key": PRO_MAK, "key_type": "mak", "product": "windows"}, setup=pro01_mak)
    scenario("pk_auto_keeps_mak", "pro01 activated with its MAK: gvlk=auto leaves it", "pro01", "product_key",
             {"gvlk": "auto", "product": "windows"}, setup=pro01_mak_activated)
    scenario("pk_auto_replace_mak", "pro01 activated with its MAK: gvlk=auto replace_mak=true installs the GVLK",
             "pro01", "product_key", {"gvlk": "auto", "product": "windows", "replace_mak": True},
             setup=pro01_mak_activated, diff=True)
    scenario("pk_gvlk_over_mak_refused", "pro01 activated with its MAK: the Pro GVLK given as key is refused",
             "pro01", "product_key", {"key": "W269N-WFGWX-YVC9B-4J6C9-T83GX"}, setup=pro01_mak_activated)
    scenario("pk_home_csvlk_refused", "home01 (Windows 11 Home): a KMS host key is refused", "home01",
             "product_key", {"key": WS2022_CSVLK, "key_type": "kms_host", "product": "windows"})
    scenario("pk_home_auto_refused", "home01 (Windows 11 Home, retail): gvlk=auto names what it found", "home01",
             "product_key", {"gvlk": "auto"})
    scenario("pk_office2010_host_on_2022_refused", "kms01 (Windows Server 2022): the Office 2010 host pack is "
             "refused", "kms01", "product_key",
             {"key": OFFICE2010_CSVLK, "key_type": "kms_host", "product": "office2010"})
    scenario("pk_office2010_host_on_2008r2", "kms7 (Windows Server 2008 R2): the Office 2010 KMS host key goes to "
             "Windows SPP", "kms7", "product_key",
             {"key": OFFICE2010_CSVLK, "key_type": "kms_host", "product": "office2010"}, diff=True)
    scenario("pk_windows_csvlk", "kms01: the Windows Server 2022 KMS host key", "kms01", "product_key",
             {"key": WS2022_CSVLK, "key_type": "kms_host", "product": "windows"})
    scenario("pk_wrong_edition_gvlk_refused", "kms01 (Server 2022 Standard): the Windows 10/11 Pro GVLK is "
             "refused", "kms01", "product_key", {"key": "W269N-WFGWX-YVC9B-4J6C9-T83GX"})
    scenario("pk_host_rejects", "kms01: a MAK the service does not know: 0xC004F050, read again", "kms01",
             "product_key", {"key": UNKNOWN_KEY, "key_type": "mak", "product": "windows"})
    scenario("pk_landed_elsewhere", "ws01: a Windows MAK given as an Office 2016 MAK lands on Windows", "ws01",
             "product_key", {"key": ENT_MAK, "key_type": "mak", "product": "office2016"})
    scenario("pk_office2010_mak_ospp", "ws02 (Windows 7, Office 2010): an Office 2010 MAK goes to OSPP", "ws02",
             "product_key", {"key": OFFICE2010_MAK, "key_type": "mak", "product": "office2010"})
    scenario("pk_absent_office2016", "ws01: remove the Office 2016 key only", "ws01", "product_key",
             {"state": "absent", "product": "office2016"}, diff=True)
    scenario("pk_absent_office2010_ospp", "ws02 (Windows 7, Office 2010 GVLK in OSPP): remove the Office 2010 key",
             "ws02", "product_key", {"state": "absent", "product": "office2010"}, diff=True)
    scenario("pk_absent_noop", "ws01: the MAK named is not installed: nothing to remove", "ws01", "product_key",
             {"state": "absent", "key": PRO_MAK, "product": "windows"})

    # ---------------------------------------------------------------- activation
    scenario("act_waiting", "srv01 (Server 2022 Datacenter, GVLK) with kms01 as its only KMS host, which counts "
             "1 of 5: waiting for threshold", "srv01", "activation", {"product": "windows"}, setup=make_kms01_host,
             diff=True)
    scenario("act_no_srv", "srv01 without any KMS host in DNS: 0x8007232B", "srv01", "activation", {})
    scenario("act_mak_online", "pro01 with its MAK installed: activated online", "pro01", "activation", {},
             setup=pro01_mak)
    scenario("act_mak_licensed", "pro01 activated with its MAK: nothing is sent", "pro01", "activation", {},
             setup=pro01_mak_activated)
    scenario("act_mak_force", "pro01 activated with its MAK, force=true: activated again", "pro01", "activation",
             {"force": True}, setup=pro01_mak_activated)

    def kms7_office_host(w: World) -> None:
        install(w, "kms7", OFFICE2010_CSVLK)
    scenario("act_offline_iid", "kms7 with the Office 2010 KMS host key: method=offline returns the installation "
             "ID", "kms7", "activation", {"method": "offline", "product": "office2010"}, setup=kms7_office_host)

    w = world()
    kms7_office_host(w)
    host = w.host("kms7")
    iid = next(p.offline_iid for p in host.products if p.key == OFFICE2010_CSVLK)
    assert iid is not None
    cid = w.activation_service.phone(iid)
    (HERE / "phone.json").write_text(json.dumps({"installation_id": iid, "confirmation_id": cid}, indent=1) + "\n",
                                     encoding="utf-8")
    office_host_id = "bfe7a195-4f8f-4f0b-a622-cf13c7d16864"
    result, calls = run(w, "kms7", "activation", {"method": "offline",
                                                  "confirmation_ids": {office_host_id: cid}})
    (HERE / "act_offline_deposit.json").write_text(json.dumps({
        "description": "kms7: deposit the confirmation ID the phone line gave (phone.json)", "host": "kms7",
        "module": "activation", "args": {"method": "offline", "confirmation_ids": {office_host_id: "<phone.json>"}},
        "round_trips": [c["result"] for c in calls]}, indent=1) + "\n", encoding="utf-8")
    print(f"act_offline_deposit: {len(calls)} round trip(s): {result.get('changed')} {result.get('msg')}")
    scenario("act_offline_bad_cid", "kms7: a confirmation ID that was not issued for this installation ID",
             "kms7", "activation",
             {"method": "offline", "confirmation_ids": {office_host_id: "1" * 48}}, setup=kms7_office_host)
    scenario("act_unknown_id", "pro01: an activation ID no product has is refused", "pro01", "activation",
             {"activation_ids": ["00000000-0000-0000-0000-000000000001"]})
    scenario("act_named_gvlk_offline_refused", "srv01: a KMS client named for phone activation is refused",
             "srv01", "activation", {"method": "offline", "activation_ids": ["ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03"]})
    scenario("act_check_mode", "pro01 with its MAK, check mode", "pro01", "activation", {}, setup=pro01_mak,
             check_mode=True, diff=True)


if __name__ == "__main__":
    main()
