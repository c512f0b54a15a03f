"""Unit tests of the ``fleet_summary`` filter.

Two kinds of input: ``license_info`` results recorded from the lab (``data/``, as the
module returned them over WinRM), and small results built here in the documented shape of
``license_info``'s RETURN, so that each rule of the summary is tested on its own.
"""

from __future__ import annotations

import copy
import json
import pathlib
import re
import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.winops.volume_activation.plugins.filter import fleet_summary as fs

DATA = pathlib.Path(__file__).resolve().parent / "data"

WINDOWS_APP = "55c92734-d682-4d71-983e-d6ec3f16059f"
NOT_ENOUGH = {"code": 0xC004F038, "hex": "0xC004F038", "symbol": "SL_E_VL_NOT_ENOUGH_COUNT",
              "message": "0xC004F038 (SL_E_VL_NOT_ENOUGH_COUNT): the KMS host has not counted enough clients",
              "windows_message": None}
IN_GRACE = {"code": 0x4004F00C, "hex": "0x4004F00C", "message": "0x4004F00C (...): in grace", "windows_message": None}


def recorded(name: str) -> dict[str, t.Any]:
    return t.cast(dict[str, t.Any], json.loads((DATA / f"{name}.json").read_text(encoding="utf-8")))


def product(name: str, *, family: str = "windows", channel: str = "kms_client", status: str = "licensed",
            grace: int | None = 259200, office_version: str | None = None, activation_id: str | None = None,
            kms_host_pid: str | None = None, discovered: str | None = None, configured: str | None = None,
            pid: str | None = None, kms_host: dict[str, t.Any] | None = None,
            reason: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """A product in the shape of license_info's ``products[]``."""
    return {
        "name": name, "family": family, "channel": channel, "license_status": status,
        "activated": status == "licensed", "grace_remaining_minutes": grace, "grace_expires": None,
        "office_version": office_version, "activation_id": activation_id or f"id-{name}",
        "application_id": WINDOWS_APP, "is_addon": False, "product_key_id": pid,
        "license_status_reason": reason,
        "kms_client": ({"kms_host_pid": kms_host_pid, "discovered_host": discovered, "configured_host": configured}
                       if channel == "kms_client" else None),
        "kms_host": kms_host,
    }


def result(products: list[dict[str, t.Any]], *, cmid: str | None = None, ospp_cmid: str | None = None,
           caption: str = "Microsoft Windows 11 Enterprise") -> dict[str, t.Any]:
    """A license_info result around ``products`` (summary derived as the module derives it)."""
    windows = next((p for p in products if p["family"] == "windows"), None)
    office = [p for p in products if p["family"] != "windows" and p["channel"] != "kms_host"]
    return {
        "changed": False, "os": {"caption": caption}, "products": products,
        "service": {"cmid": cmid}, "ospp_service": {"cmid": ospp_cmid} if ospp_cmid else None,
        "summary": {
            "windows_product": windows["name"] if windows else None,
            "windows_status": windows["license_status"] if windows else None,
            "windows_activated": windows["activated"] if windows else None,
            "office": [{"name": p["name"], "activation_id": p["activation_id"], "version": p["office_version"],
                        "license_status": p["license_status"], "activated": p["activated"]} for p in office],
            "kms_host": any(p["kms_host"] for p in products),
        },
    }


HOST_PID = "06401-00206-551-012345-03-1033-20348.0000-3322026"
O2010_PID = "55041-00168-001-000000-03-1033-7601.0000-3322026"


def fleet() -> dict[str, dict[str, t.Any]]:
    """Two KMS hosts (Windows + Office 2021, Office 2010), clients, a clone pair, a failure."""
    return {
        "kms01": result([
            product("Windows(R), ServerStandard edition", channel="kms_host", pid=HOST_PID, grace=0,
                    kms_host={"current_count": 29, "required_count": 25, "listening_port": 1688,
                              "dns_publishing": True}),
            product("Office 21, Office21KMSHostVL_KMS_Host edition", family="office", channel="kms_host",
                    office_version="2021", pid="OFFICE21-PID", grace=0,
                    kms_host={"current_count": 10, "required_count": 5, "listening_port": 1688,
                              "dns_publishing": True}),
        ], cmid="cmid-kms01", caption="Microsoft Windows Server 2022 Standard"),
        "kms-office2010": result([
            product("Windows(R), ServerStandard edition", channel="kms_client", configured=None,
                    discovered="kms01.corp.example.test"),
            product("Microsoft Office 2010, KMSHost edition", family="office2010", channel="kms_host",
                    office_version="2010", pid=O2010_PID, grace=0,
                    kms_host={"current_count": 4, "required_count": 5, "listening_port": 1688,
                              "dns_publishing": False}),
        ], cmid="cmid-k2010"),
        "img01": result([
            product("Windows(R), Enterprise edition", kms_host_pid=HOST_PID),
            product("Office 16, Office16ProPlusVL_KMS_Client edition", family="office", office_version="2016",
                    kms_host_pid="OFFICE21-PID"),
        ], cmid="CMID-SHARED"),
        "img02": result([
            product("Windows(R), Enterprise edition", discovered="KMS01.corp.example.test"),
        ], cmid="cmid-shared"),
        "acct01": result([
            product("Windows(R), Enterprise edition", kms_host_pid=HOST_PID),
            product("Office 14, OfficeProPlus-KMS_Client edition", family="office2010", office_version="2010",
                    status="initial_grace", grace=43200, reason=NOT_ENOUGH,
                    configured="kms-office2010.corp.example.test"),
        ], cmid="cmid-acct01", ospp_cmid="ospp-1"),
        "acct-w7e": result([
            product("Windows(R) 7, Enterprise edition", discovered="kms9.elsewhere.test"),
            product("Office 14, OfficeProPlus-KMS_Client edition", family="office2010", office_version="2010",
                    kms_host_pid=O2010_PID),
        ], cmid="cmid-w7e", ospp_cmid="OSPP-1"),
    }


@pytest.mark.parametrize(("minutes", "days"), [
    (None, None), (0, None), (-5, None), (True, None), ("43200", None),
    (1, 1), (1440, 1), (1441, 2), (43200, 30), (259200, 180),
])
def test_grace_days_rounds_up_like_slmgr(minutes: t.Any, days: int | None) -> None:
    assert fs.grace_days(minutes) == days


@pytest.mark.parametrize(("host", "kind", "expected"), [
    ("img01", "windows", "kms01"),  # the KMS host's extended PID names the host key that answered
    ("img01", "office", "kms01"),  # an Office 2021 host key activating Office 2016
    ("img02", "windows", "kms01"),  # no PID: the DNS name, matched on its first label, any case
    ("acct-w7e", "windows", "kms9.elsewhere.test"),  # not in the fleet: the DNS name as given
    ("acct-w7e", "office", "kms-office2010"),
    ("acct01", "office", None),  # not activated: nobody activated it
    ("kms-office2010", "windows", "kms01"),
])
def test_activated_by(host: str, kind: str, expected: str | None) -> None:
    row = next(r for r in fs.summarize(fleet())["hosts"] if r["host"] == host)
    view = row["windows"] if kind == "windows" else row["office"][0]
    assert view["activated_by"] == expected


def test_kms_hosts_counts_thresholds_and_clients() -> None:
    kms = {(k["host"], k["product"]): k for k in fs.summarize(fleet())["kms_hosts"]}
    win = kms[("kms01", "Windows(R), ServerStandard edition")]
    assert (win["current_count"], win["required_count"], win["threshold_met"]) == (29, 25, True)
    assert win["clients"] == ["acct01", "img01", "img02", "kms-office2010"]
    office = kms[("kms01", "Office 21, Office21KMSHostVL_KMS_Host edition")]
    assert office["clients"] == ["img01"]
    o2010 = kms[("kms-office2010", "Microsoft Office 2010, KMSHost edition")]
    assert (o2010["threshold_met"], o2010["dns_publishing"], o2010["clients"]) == (False, False, ["acct-w7e"])


@pytest.mark.parametrize(("current", "required", "met"), [
    (-1, 5, False), (0, 5, False), (4, 5, False), (5, 5, True), (10, 5, True), (24, 25, False),
    (25, 25, True), (None, 25, False), (3, 0, False),
])
def test_threshold_met(current: int | None, required: int, met: bool) -> None:
    res = result([product("Windows(R), ServerStandard edition", channel="kms_host", pid="P",
                          kms_host={"current_count": current, "required_count": required})])
    assert fs.summarize({"h": res})["kms_hosts"][0]["threshold_met"] is met


def test_clones_are_grouped_per_platform_case_insensitively() -> None:
    clones = fs.summarize(fleet())["clones"]
    assert clones == [
        {"cmid": "cmid-shared", "source": "spp", "hosts": ["img01", "img02"]},
        {"cmid": "ospp-1", "source": "ospp", "hosts": ["acct-w7e", "acct01"]},
    ]


def test_problems_explain_failures_and_skip_informational_codes() -> None:
    problems = fs.summarize(fleet())["problems"]
    assert [(p["host"], p["product"]) for p in problems] == [
        ("acct01", "Office 14, OfficeProPlus-KMS_Client edition")]
    assert problems[0]["message"] == (
        "not activated (initial_grace, 30 days of grace left): "
        "0xC004F038 (SL_E_VL_NOT_ENOUGH_COUNT): the KMS host has not counted enough clients")
    grace_only = result([product("Windows(R), Enterprise edition", status="initial_grace", grace=100,
                                 reason=IN_GRACE)])
    assert fs.summarize({"h": grace_only})["problems"][0]["message"] == "not activated (initial_grace, 1 days of grace left)"


def test_reason_without_message_is_explained_from_the_table() -> None:
    res = result([product("Windows(R), Enterprise edition", status="notification", grace=0,
                          reason={"code": 0xC004F074})])
    message = fs.summarize({"h": res})["problems"][0]["message"]
    assert message.startswith("not activated (notification): 0xC004F074 (SL_E_VL_BINDING_SERVICE_UNAVAILABLE): ")


def test_kms_host_product_not_activated_is_a_problem() -> None:
    res = result([product("Windows(R), ServerStandard edition", channel="kms_host", status="initial_grace",
                          grace=43200, pid="P", kms_host={"current_count": -1, "required_count": 25})])
    problems = fs.summarize({"kms01": res})["problems"]
    assert [p["message"] for p in problems] == [
        "not activated (initial_grace, 30 days of grace left)",
        "KMS host product not activated (initial_grace, 30 days of grace left); "
        "it answers clients 0xC004F041 until it is activated",
    ]


@pytest.mark.parametrize(("value", "error"), [
    (None, "no license_info result (the host was not read in this run)"),
    ({"unreachable": True, "msg": "timed out"}, "unreachable: timed out"),
    ({"failed": True, "msg": "boom"}, "license_info failed: boom"),
    ({"skipped": True}, "license_info was skipped on this host"),
    ({"changed": False}, "the value is not a license_info result (no 'products')"),
    ("text", "no license_info result (the host was not read in this run)"),
])
def test_unusable_results_are_problems_not_errors(value: t.Any, error: str) -> None:
    data = {"bad": value} if value is not None else {}
    out = fs.summarize(data, hosts=["bad"])
    assert out["hosts"][0]["ok"] is False
    assert out["hosts"][0]["error"] == error
    assert out["problems"] == [{"host": "bad", "product": None, "status": None, "message": error,
                                "next_step": fs.NEXT_STEPS["no_result"]}]
    assert out["totals"]["reachable"] == 0
    assert f"  bad   ERROR: {error}" in out["lines"]


def test_totals() -> None:
    totals = fs.summarize(fleet())["totals"]
    assert totals == {"hosts": 6, "reachable": 6, "windows_total": 6, "windows_activated": 6,
                      "office_total": 3, "office_activated": 2, "kms_host_products": 3, "clones": 2,
                      "srv_records": 0, "stale_srv_records": 0, "problems": 1}


def test_filter_reads_hostvars_like_input_in_the_given_order() -> None:
    hostvars = {h: {"activation_report_info": r, "other": 1} for h, r in fleet().items()}
    hostvars["nodata"] = {"other": 1}
    out = fs.fleet_summary(hostvars, hosts=["img02", "kms01", "nodata"], key="activation_report_info")
    assert [r["host"] for r in out["hosts"]] == ["img02", "kms01", "nodata"]
    assert out["hosts"][2]["error"] == "no license_info result (the host was not read in this run)"
    assert out["totals"]["hosts"] == 3


def test_activation_outcomes_are_shown_under_their_host() -> None:
    outcomes = {"acct01": [{"product": "Office 14", "outcome": "waiting",
                            "message": "waiting for the KMS threshold (4 of 5)"}]}
    out = fs.fleet_summary(fleet(), activation=outcomes)
    row = next(r for r in out["hosts"] if r["host"] == "acct01")
    assert row["outcomes"] == outcomes["acct01"]
    lines = out["lines"]
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("acct01 "))
    assert lines[at + 1].strip() == "Office 14: waiting for the KMS threshold (4 of 5)"


def test_activation_module_rows_are_labelled_by_family() -> None:
    """The rows of activation's ``products`` (as kms_activation records them) carry name and family."""
    outcomes = {"acct01": [{"name": "Office 14, OfficeProPlus-KMS_Client edition", "family": "office2010",
                            "outcome": "activated", "message": "activated by the KMS host kms-office2010:1688"}]}
    lines = fs.fleet_summary(fleet(), activation=outcomes)["lines"]
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("acct01 "))
    assert lines[at + 1].strip() == "office2010: activated by the KMS host kms-office2010:1688"


def test_lines_render_the_fleet() -> None:
    lines = fs.summarize(fleet())["lines"]
    assert lines[0] == ("Fleet: 6 hosts, 6 read; Windows activated 6/6; Office activated 2/3; "
                        "2 shared CMID(s); 1 problem(s)")
    assert ("  kms01: Windows(R), ServerStandard edition: activated, count 29 / 25 (threshold met), "
            "port 1688, DNS publishing on, 4 client(s) activated") in lines
    assert ("  kms-office2010: Microsoft Office 2010, KMSHost edition: activated, count 4 / 5 (below threshold), "
            "port 1688, DNS publishing off, 1 client(s) activated") in lines
    assert any(line.startswith("  acct01 ") and "Office 2010 initial_grace 30d" in line for line in lines)
    assert any(line.startswith("  img01 ") and "Windows licensed 180d <- kms01" in line for line in lines)
    assert "  cmid-shared (spp): img01, img02" in lines
    assert lines[-1].startswith("  acct01: Office 14, OfficeProPlus-KMS_Client edition: not activated")


def test_recorded_fresh_lab_hosts() -> None:
    """Hosts as the lab answered before anything was activated: all in initial grace."""
    data = {h: recorded(f"initial-{h}") for h in ("kms01", "acct-w7e", "img02")}
    out = fs.summarize(data, hosts=["kms01", "acct-w7e", "img02"])
    assert out["totals"] == {"hosts": 3, "reachable": 3, "windows_total": 3, "windows_activated": 0,
                             "office_total": 2, "office_activated": 0, "kms_host_products": 0, "clones": 0,
                             "srv_records": 0, "stale_srv_records": 0, "problems": 5}
    w7e = out["hosts"][1]
    assert w7e["ospp_cmid"] == data["acct-w7e"]["ospp_service"]["cmid"]
    assert (w7e["office"][0]["version"], w7e["office"][0]["grace_days"]) == ("2010", 30)
    assert {p["message"] for p in out["problems"]} == {"not activated (initial_grace, 30 days of grace left)"}


def test_input_is_not_modified() -> None:
    data = fleet()
    before = copy.deepcopy(data)
    fs.fleet_summary(data)
    assert data == before


@pytest.mark.parametrize(("args", "message"), [
    (([1, 2],), "the input must be a mapping"),
    (({}, "kms01"), "hosts must be a list of host names"),
    (({}, None, None, ["x"]), "activation must be a mapping"),
])
def test_bad_arguments(args: tuple[t.Any, ...], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        fs.fleet_summary(*args)


def test_registered_as_filter() -> None:
    assert fs.FilterModule().filters()["fleet_summary"] is fs.fleet_summary


def srv(target: str, port: int = 1688, priority: int = 0, addresses: list[str] | None = None) -> dict[str, t.Any]:
    return {"zone": "corp.example.test", "owner": "_vlmcs._tcp.corp.example.test", "target": target, "port": port,
            "priority": priority, "weight": 0, "ttl": 3600, "addresses": addresses}


def test_srv_records_checked_against_the_fleet() -> None:
    records = [srv("kms01.corp.example.test"), srv("img01.corp.example.test"),
               srv("kms-old.corp.example.test", priority=10, addresses=["10.0.0.9"]),
               srv("kms01.corp.example.test", port=1689), srv("gone.corp.example.test", priority=20, addresses=[])]
    out = fs.fleet_summary(fleet(), srv_records=records)
    status = [(r["target"], r["port"], r["host"], r["status"]) for r in out["srv_records"]]
    assert status == [
        ("kms01.corp.example.test", 1688, "kms01", "ok"),
        ("img01.corp.example.test", 1688, "img01", "stale"),  # a client, not a KMS host
        ("kms-old.corp.example.test", 1688, None, "outside"),  # not in the inventory: not judged
        ("kms01.corp.example.test", 1689, "kms01", "stale"),  # kms01 listens on 1688
        ("gone.corp.example.test", 1688, None, "stale"),  # the name does not resolve
    ]
    stale = [p for p in out["problems"] if p["status"] == "stale_srv_record"]
    assert [p["host"] for p in stale] == ["img01", "kms01", "gone.corp.example.test"]
    assert "names a host that does not exist in DNS (no address)" in stale[2]["message"]
    assert stale[0]["message"].startswith("SRV record '0 0 1688 img01.corp.example.test' names img01, which is not "
                                          "an activated KMS host")
    assert "listens on 1688" in stale[1]["message"]
    assert (out["totals"]["srv_records"], out["totals"]["stale_srv_records"]) == (5, 3)
    assert all(k["in_dns"] is (k["host"] == "kms01") for k in out["kms_hosts"])
    # kms-office2010 does not publish itself: not being in DNS is its choice, not a problem.
    assert not [p for p in out["problems"] if p["status"] == "not_in_dns"]
    assert "DNS SRV records (_vlmcs._tcp), in the order clients try them:" in out["lines"]
    assert "  corp.example.test: 0 0 1688 kms01.corp.example.test: ok (kms01)" in out["lines"]


def test_a_publishing_kms_host_missing_from_dns_is_a_problem() -> None:
    out = fs.fleet_summary(fleet(), srv_records=[srv("kms-old.corp.example.test")])
    (missing,) = [p for p in out["problems"] if p["status"] == "not_in_dns"]
    assert missing["host"] == "kms01"
    assert missing["message"].startswith("the KMS host publishes itself in DNS, but no _vlmcs._tcp record of "
                                         "corp.example.test names it")


def test_without_srv_records_dns_is_not_judged() -> None:
    out = fs.fleet_summary(fleet())
    assert out["srv_records"] == [] and all(k["in_dns"] is None for k in out["kms_hosts"])


@pytest.mark.parametrize(("records", "message"), [
    ("kms01", "srv_records must be a list of SRV records"),
    ([{"target": "kms01"}], "srv_records[0] must be a dict with 'target' and an integer 'port'"),
])
def test_bad_srv_records_are_refused(records: t.Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        fs.fleet_summary(fleet(), srv_records=records)


def two_office_host_keys() -> dict[str, dict[str, t.Any]]:
    """kms01 holds Office 2016 and Office 2021 host keys (as the demo's kms01 does); two clients run
    Office 2016, one Office 2021, one Office 2019, one Office 2016 seen by name only."""
    def office(version: str, pid: str | None) -> dict[str, t.Any]:
        return product(f"Office {version}, ProPlus KMS_Client edition", family="office", office_version=version,
                       kms_host_pid=pid, discovered=None if pid else "kms01.corp.example.test",
                       activation_id=f"client-{version}")
    hosts = {
        "kms01": result([
            product("Office 16, Office16KMSHostVL edition", family="office", channel="kms_host",
                    office_version="2016", pid="O16-PID", grace=0, activation_id="host-2016",
                    kms_host={"current_count": 5, "required_count": 5, "listening_port": 1688}),
            product("Office 21, Office21KMSHostVL edition", family="office", channel="kms_host",
                    office_version="2021", pid="O21-PID", grace=0, activation_id="host-2021",
                    kms_host={"current_count": 5, "required_count": 5, "listening_port": 1688}),
        ]),
        "c16a": result([office("2016", "O16-PID")]),
        "c16b": result([office("2016", "O16-PID")]),
        "c21": result([office("2021", "O21-PID")]),
        "c19": result([office("2019", None)]),  # no PID: the oldest newer host key of the family (2021)
        "c16n": result([office("2016", None)]),  # no PID: the host key of its own version
    }
    return hosts


def test_office_host_keys_count_their_own_clients_per_version() -> None:
    """Regression: every Office host-key line showed the same clients, counted per family."""
    out = fs.summarize(two_office_host_keys())
    clients = {k["office_version"]: k["clients"] for k in out["kms_hosts"]}
    assert clients == {"2016": ["c16a", "c16b", "c16n"], "2021": ["c19", "c21"]}
    lines = [line for line in out["lines"] if line.startswith("  kms01: Office")]
    assert [line.rsplit(", ", 1)[1] for line in lines] == ["3 client(s) activated", "2 client(s) activated"]


def test_a_lone_host_product_of_the_family_counts_clients_without_pid() -> None:
    hosts = two_office_host_keys()
    hosts["kms01"]["products"].pop(0)  # only the 2021 host key left: the 2016 clients are its own
    out = fs.summarize(hosts)
    # c16a/c16b saw the PID of a host key no longer in the fleet and no host name: not attributed.
    assert [k["clients"] for k in out["kms_hosts"]] == [["c16n", "c19", "c21"]]


HOST_RESULT = "volume_activation_host_result.license_info"


@pytest.mark.parametrize(("hostvars", "source"), [
    # The host-level module returned the state: reused, the report's own read was skipped.
    ({"volume_activation_host_result": {"changed": False, "license_info": "HOST"},
      "activation_report_info": {"skipped": True}}, "HOST"),
    # The host-level task failed: its license_info is not trusted, the fallback read is used.
    ({"volume_activation_host_result": {"failed": True, "license_info": "HOST"},
      "activation_report_info": "OWN"}, "OWN"),
    # No host-level result at all: the fallback read.
    ({"activation_report_info": "OWN"}, "OWN"),
    # A host-level result without license_info (an older module): the fallback read.
    ({"volume_activation_host_result": {"changed": True}, "activation_report_info": "OWN"}, "OWN"),
])
def test_the_host_level_result_is_reused_else_license_info(hostvars: dict[str, t.Any], source: str) -> None:
    recorded_results = {"HOST": result([product("Windows(R), Enterprise edition", status="licensed")]),
                        "OWN": result([product("Windows(R), Enterprise edition", status="notification")])}
    host = {k: ({**v, "license_info": recorded_results[v["license_info"]]} if isinstance(v, dict)
                and "license_info" in v else recorded_results.get(v, v) if isinstance(v, str) else v)
            for k, v in hostvars.items()}
    out = fs.fleet_summary({"ws01": host}, hosts=["ws01"], key=[HOST_RESULT, "activation_report_info"])
    assert out["hosts"][0]["windows"]["status"] == ("licensed" if source == "HOST" else "notification")


def test_unreachable_fallback_is_reported_when_nothing_is_reusable() -> None:
    host = {"volume_activation_host_result": {"unreachable": True, "msg": "gone"},
            "activation_report_info": {"unreachable": True, "msg": "timed out"}}
    out = fs.fleet_summary({"ws01": host}, hosts=["ws01"], key=[HOST_RESULT, "activation_report_info"])
    assert out["hosts"][0]["error"] == "unreachable: timed out"


@pytest.mark.parametrize("key", [[], [""], 5, ["a", 3]])
def test_bad_key_is_refused(key: t.Any) -> None:
    with pytest.raises(AnsibleFilterError, match="key must be a variable name or a list of them"):
        fs.fleet_summary({"ws01": {}}, key=key)


def test_problems_carry_the_next_step_of_their_hresult() -> None:
    out = fs.summarize(fleet())
    acct = next(p for p in out["problems"] if p["host"] == "acct01")
    assert acct["next_step"].startswith("add clients until the host's current count reaches the threshold")
    office = next(o for o in next(r for r in out["hosts"] if r["host"] == "acct01")["office"])
    assert office["reason_code"] == "0xC004F038" and office["kms_host_used"] == "kms-office2010.corp.example.test"
