"""license_info: replays executor results for the six scenarios of issue 2 (tests/unit/test_data/license_info).

The results are shaped after docs/executor-protocol.md with the property names and types
Windows documents (uint32 counts, GracePeriodRemaining in minutes, NULL partial keys,
uint32 -1); they were written by hand, not recorded from a Windows host (none is reachable
here), and each file says what machine it stands for.
"""

from __future__ import annotations

import copy
import importlib
import typing as t

import pytest
import yaml

from ansible_collections.winops.volume_activation.plugins.action.license_info import ActionModule
from ansible_collections.winops.volume_activation.plugins.plugin_utils import _client
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
    DisplayRecorder,
    licensing_read,
    load_data,
    make_action,
)

WIN = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFF = "0ff1ce15-a989-479d-af46-f275c6370663"
O10 = "59a52881-a989-479d-af46-f275c6370663"
OS_QUERY: dict[str, t.Any] = {"op": "cim_query", "class": "Win32_OperatingSystem",
                              "properties": ["Caption", "Version", "BuildNumber", "OperatingSystemSKU",
                                             "ProductType", "LocalDateTime"]}
SERVICES = {"spp": licensing_read("SoftwareLicensingService"),
            "ospp": licensing_read("OfficeSoftwareProtectionService")}


def read_ops(product_filter: str | None = "PartialProductKey <> null",
             ospp_filter: str | None = "PartialProductKey <> null", ospp: bool = True) -> list[dict[str, t.Any]]:
    ops = [OS_QUERY, SERVICES["spp"], licensing_read("SoftwareLicensingProduct", product_filter)]
    if ospp:
        ops += [SERVICES["ospp"], licensing_read("OfficeSoftwareProtectionProduct", ospp_filter)]
    return ops


def run(name: str, args: dict[str, t.Any] | None = None, *, check_mode: bool = False,
        responses: list[t.Any] | None = None) -> tuple[dict[str, t.Any], t.Any]:
    data = load_data("license_info", f"{name}.json")
    plugin, fake = make_action(ActionModule, dict(data["args"] if args is None else args),
                               [data["module_result"]] if responses is None else responses, check_mode=check_mode)
    return plugin.run(task_vars={}), fake


SCENARIOS = ["windows_kms_client", "windows_kms_host", "mak_server", "office2010_ospp", "office2016_spp",
             "unlicensed_notification"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_one_round_trip_with_the_exact_operations(name: str) -> None:
    data = load_data("license_info", f"{name}.json")
    result, fake = run(name)
    unlicensed = data["args"].get("include_unlicensed", False)
    expected = read_ops(None, None) if unlicensed else read_ops()
    assert len(fake.calls) == 1
    call = fake.calls[0]
    assert call["module_name"] == "winops.volume_activation.licensing_batch"
    assert call["module_args"] == {"operations": expected, "stop_on_error": False}
    assert result["changed"] is False and "failed" not in result
    assert result["round_trips"] == 1


def product(result: dict[str, t.Any], activation_id: str) -> dict[str, t.Any]:
    (p,) = [p for p in result["products"] if p["activation_id"] == activation_id]
    return p


def test_windows_kms_client() -> None:
    result, _unused = run("windows_kms_client")
    assert result["os"] == {
        "caption": "Microsoft Windows Server 2022 Standard", "version": "10.0.20348", "build_number": "20348",
        "operating_system_sku": 7, "product_type": 3, "edition": "ServerStandard",
        "local_time": "2026-11-28T15:00:00+00:00",
    }
    assert product(result, "de32eafd-aaee-4662-9444-c1befb41bde2") == {
        "activation_id": "de32eafd-aaee-4662-9444-c1befb41bde2",
        "application_id": WIN,
        "name": "Windows(R), ServerStandard edition",
        "description": "Windows(R) Operating System, VOLUME_KMSCLIENT channel",
        "family": "windows",
        "office_version": None,
        "source": "spp",
        "channel": "kms_client",
        "product_key_channel": "Volume:GVLK",
        "partial_product_key": "VMK7H",
        "masked_product_key": "XXXXX-XXXXX-XXXXX-XXXXX-VMK7H",
        "product_key_id": "00454-20000-00001-AA123",
        "license_status": "licensed",
        "license_status_code": 1,
        "license_status_reason": None,
        "activated": True,
        "grace_remaining_minutes": 259200,
        "grace_expires": "2027-05-27T15:00:00+00:00",
        "evaluation_end_date": None,
        "is_addon": False,
        "remaining_app_rearm_count": 1001,
        "remaining_sku_rearm_count": 1001,
        "kms_client": {
            "configured_host": None, "configured_port": None, "configured_at": None, "lookup_domain": None,
            "discovered_host": "kms01.corp.example.test", "discovered_port": 1688, "discovered_ip": "127.0.10.10",
            "kms_host_pid": "06401-00206-551-012345-03-1033-20348.0000-3322026",
            "activation_interval_minutes": 120, "renewal_interval_minutes": 10080, "host_caching": True,
            "activation_type": "all",
        },
        "kms_host": None,
        # Recorded on a KMS-activated client: VLActivationType is not 1, no activation object.
        "activated_by": "kms",
        "ad_activation": None,
    }
    assert result["service"]["cmid"] == "7c6d1a2b-0f2e-4a41-9e33-3a0a51e5e1c4"
    assert result["service"]["is_kms_host"] is False and result["service"]["kms_host"] is None
    assert result["ospp_service"] is None
    assert result["summary"] == {
        "windows_activated": True, "windows_status": "licensed", "windows_product": "Windows(R), ServerStandard edition",
        "office": [], "office_activated": None, "kms_host": False, "kms_host_products": [], "ospp_present": False,
        "windows_activated_by": "kms", "activated_by_ad": 0, "needs_kms_host": 1,
    }


def test_windows_kms_host() -> None:
    result, _unused = run("windows_kms_host")
    win = product(result, "8de8eb62-bbe0-40ac-ac17-f75595071ea3")
    assert win["channel"] == "kms_host" and win["kms_client"] is None
    no_requests = dict.fromkeys(["total", "failed", "unlicensed", "licensed", "initial_grace", "additional_grace",
                                 "non_genuine_grace", "notification"], 0)
    assert win["kms_host"] == {
        "current_count": -1,  # 4294967295 from CIM: no client has contacted the host yet [SEED]
        "required_count": 5, "listening_port": 1688, "dns_publishing": True, "low_priority": False,
        "host_caching": True, "requests": no_requests,
    }
    office = product(result, "98ebfe73-2084-4c97-932c-c0cd1643bea7")
    assert office["office_version"] == "2016" and office["kms_host"]["current_count"] == 7
    assert office["kms_host"]["requests"]["initial_grace"] == 7
    assert result["service"]["kms_host"]["requests"]["total"] == 12
    assert result["summary"]["kms_host"] is True
    assert result["summary"]["kms_host_products"] == [
        {"name": "Windows(R), ServerStandard edition", "activation_id": "8de8eb62-bbe0-40ac-ac17-f75595071ea3",
         "family": "windows", "office_version": None, "activated": True, "current_count": -1, "required_count": 5},
        {"name": "Office 16, OfficeKMSHostVL_KMS_Host edition", "activation_id": "98ebfe73-2084-4c97-932c-c0cd1643bea7",
         "family": "office", "office_version": "2016", "activated": True, "current_count": 7, "required_count": 5},
    ]
    assert result["summary"]["office"] == []  # a KMS host license is not an Office installation


def test_mak_server() -> None:
    result, _unused = run("mak_server")
    (p,) = result["products"]
    assert (p["channel"], p["license_status"], p["grace_remaining_minutes"], p["grace_expires"]) == \
        ("mak", "licensed", 0, None)
    assert p["kms_client"] is None and p["kms_host"] is None
    assert result["service"]["remaining_windows_rearm_count"] == 1000
    assert result["summary"]["windows_activated"] is True


def test_office2010_on_ospp() -> None:
    result, _unused = run("office2010_ospp")
    office = product(result, "6f327760-8c5c-417c-9b61-836a98287e0c")
    assert (office["source"], office["family"], office["office_version"], office["application_id"]) == \
        ("ospp", "office2010", "2010", O10)
    assert office["product_key_channel"] is None and office["channel"] == "kms_client"
    assert office["grace_expires"] == "2027-05-27T23:00:00+09:00"  # host clock +09:00 plus 259140 minutes (180 days less an hour)
    assert office["kms_client"]["configured_host"] == "kms01.corp.example.test"
    assert office["kms_client"]["configured_at"] == "product"
    assert result["ospp_service"]["cmid"] == "5e4b27ac-1a1b-4c5d-9e8f-0a1b2c3d4e5f"
    assert result["ospp_service"]["version"] == "14.0.7015.1000"
    assert result["summary"]["office"] == [
        {"name": "Office 14, OfficeProPlus-KMS_Client edition", "activation_id": "6f327760-8c5c-417c-9b61-836a98287e0c",
         "version": "2010", "channel": "kms_client", "license_status": "licensed", "activated": True,
         "activated_by": "kms"},
    ]
    assert result["summary"]["ospp_present"] is True
    assert result["os"]["edition"] == "Enterprise"


def test_office2016_on_spp() -> None:
    result, _unused = run("office2016_spp")
    office = product(result, "d450596f-894d-49e0-966a-fd39ed4c4c64")
    assert (office["family"], office["office_version"], office["license_status"]) == ("office", "2016", "initial_grace")
    assert office["license_status_reason"]["hex"] == "0x4004F00C"
    assert office["license_status_reason"]["message"].startswith("0x4004F00C (FACILITY_ITF code 0xF00C): the product runs")
    assert office["grace_expires"] == "2026-12-28T14:00:00+00:00"
    win = product(result, "73111121-5638-40f6-bc11-f1d7b0d64300")
    assert (win["kms_client"]["configured_host"], win["kms_client"]["configured_port"],
            win["kms_client"]["configured_at"]) == ("kms01.corp.example.test", 1688, "service")
    assert result["summary"]["office_activated"] is False
    assert result["summary"]["windows_activated"] is True


def test_unlicensed_in_notification_mode() -> None:
    result, _unused = run("unlicensed_notification")
    gvlk = product(result, "2de67392-b7a7-462a-b1ca-108dd189f588")
    assert gvlk["license_status"] == "notification" and gvlk["activated"] is False
    assert gvlk["license_status_reason"] == {
        "code": 0xC004F009, "hex": "0xC004F009", "symbol": "SL_E_GRACE_TIME_EXPIRED",
        "explanation": "the grace period expired, so the product is in notification mode",
        "remedy": "activate the product",
        "message": "0xC004F009 (SL_E_GRACE_TIME_EXPIRED): the grace period expired, so the product is in "
                   "notification mode",
        "windows_message": None,
    }
    edu = product(result, "e0c42288-980c-4788-a014-c080d2e1926e")
    assert edu["partial_product_key"] is None and edu["masked_product_key"] is None
    assert edu["license_status"] == "unlicensed" and edu["license_status_reason"] is None
    assert result["summary"]["windows_activated"] is False
    assert result["summary"]["windows_status"] == "notification"


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_non_zero_status_reason_is_explained(name: str) -> None:
    data = load_data("license_info", f"{name}.json")
    raw = {p["ID"]: p["LicenseStatusReason"] for r in data["module_result"]["results"]
           for p in r.get("instances", []) if "LicenseStatusReason" in p}
    result, _unused = run(name)
    for p in result["products"]:
        code = raw[p["activation_id"]]
        if code:
            assert p["license_status_reason"]["code"] == code
            assert p["license_status_reason"]["message"].startswith(f"0x{code:08X} (")
        else:
            assert p["license_status_reason"] is None


def test_no_full_key_anywhere_even_at_vvvv(display_recorder: DisplayRecorder) -> None:
    # The firmware OEM key (OA3xOriginalProductKey) comes back in the service instance.
    result, _unused = run("unlicensed_notification")
    vvvv = [m for level, m in display_recorder.messages if level == "vvvv"]
    assert any(m.startswith("winops.volume_activation.license_info: results: ") for m in vvvv)
    assert "XXXXX-XXXXX-XXXXX-XXXXX-9KYT3" in "\n".join(vvvv)  # the raw results were logged, key masked
    for text in (display_recorder.text, repr(result)):
        assert "QF4VD-BGRH7-WXJ2C-PT8MK" not in text
        assert "QF4VD" not in text


def test_check_mode_reads_the_same() -> None:
    normal, _unused = run("windows_kms_host")
    checked, fake = run("windows_kms_host", check_mode=True)
    assert checked == normal
    assert fake.calls[0]["check_mode"] is True  # the executor runs read-only batches in check mode


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"application": "windows"}, read_ops(f"PartialProductKey <> null AND (ApplicationID = '{WIN}')", ospp=False)),
        ({"application": "office"},
         read_ops(f"PartialProductKey <> null AND (ApplicationID = '{OFF}' OR ApplicationID = '{O10}')")),
        ({"include_unlicensed": True}, read_ops(None, None)),
        ({"activation_ids": ["{98EBFE73-2084-4C97-932C-C0CD1643BEA7}", "98ebfe73-2084-4c97-932c-c0cd1643bea7",
                             "8de8eb62-bbe0-40ac-ac17-f75595071ea3"]},
         read_ops("(ID = '98ebfe73-2084-4c97-932c-c0cd1643bea7' OR ID = '8de8eb62-bbe0-40ac-ac17-f75595071ea3')",
                  "(ID = '98ebfe73-2084-4c97-932c-c0cd1643bea7' OR ID = '8de8eb62-bbe0-40ac-ac17-f75595071ea3')")),
    ],
)
def test_options_shape_the_query(args: dict[str, t.Any], expected: list[dict[str, t.Any]]) -> None:
    data = load_data("license_info", "windows_kms_host.json")
    response = copy.deepcopy(data["module_result"])
    response["results"] = response["results"][: len(expected)]
    _unused, fake = run("windows_kms_host", args, responses=[response])
    assert fake.operations == [expected]


def test_office_versions_filters_office_only() -> None:
    result, _unused = run("windows_kms_host", {"office_versions": ["2019"]})
    assert [p["activation_id"] for p in result["products"]] == ["8de8eb62-bbe0-40ac-ac17-f75595071ea3"]
    assert [h["family"] for h in result["summary"]["kms_host_products"]] == ["windows"]


def test_bad_activation_id_is_refused_before_any_traffic() -> None:
    result, fake = run("windows_kms_client", {"activation_ids": ["not-a-guid"]}, responses=[])
    assert result["failed"] is True
    assert result["msg"] == "Failed to read licensing products: activation_ids must be GUIDs, got 'not-a-guid'"
    assert fake.calls == [] and result["round_trips"] == 0


def test_invalid_option_value() -> None:
    result, fake = run("windows_kms_client", {"application": "visio"}, responses=[])
    assert result["failed"] is True and "application" in result["msg"] and "visio" in result["msg"]
    assert fake.calls == []


def test_executor_failure_is_reported() -> None:
    result, _unused = run("windows_kms_client", responses=[{"failed": True, "msg": "operation 1: class not allowed"}])
    assert result == {"failed": True, "changed": False, "round_trips": 1,
                      "msg": "the licensing executor failed: operation 1: class not allowed"}


def test_other_query_errors_become_warnings() -> None:
    data = load_data("license_info", "windows_kms_client.json")
    response = copy.deepcopy(data["module_result"])
    response["results"][1] = {"op": "cim_query", "ok": False, "hresult": 2147942405, "hresult_hex": "0x80070005",
                              "error": "Access is denied."}
    result, _unused = run("windows_kms_client", responses=[response])
    assert result["service"] is None
    assert result["warnings"] == ["Failed to query SoftwareLicensingService: 0x80070005 (E_ACCESSDENIED): access is "
                                  "denied: the operation needs administrative rights"]


# ---------------------------------------------------------------- documentation vs argument spec

MOD = importlib.import_module("ansible_collections.winops.volume_activation.plugins.modules.license_info")
DOC = yaml.safe_load(MOD.DOCUMENTATION)
RET = yaml.safe_load(MOD.RETURN)


def test_documented_options_match_the_argument_spec() -> None:
    opts = DOC["options"]
    spec = ActionModule.ARGUMENT_SPEC
    assert list(opts) == sorted(opts) == sorted(spec)
    for name, d in opts.items():
        s = spec[name]
        assert (d.get("type", "str"), d.get("default"), d.get("choices"), d.get("elements"),
                bool(d.get("no_log")), bool(d.get("required"))) == \
               (s.get("type", "str"), s.get("default"), s.get("choices"), s.get("elements"),
                bool(s.get("no_log")), bool(s.get("required"))), name
        assert d["version_added"] == "0.1.0" and d["description"], name


def test_doc_header() -> None:
    assert DOC["module"] == "license_info" and DOC["version_added"] == "0.1.0"
    assert DOC["extends_documentation_fragment"] == [
        "ansible.builtin.action_common_attributes",
        "ansible.builtin.action_common_attributes.flow",
        "winops.volume_activation.attributes",
    ]
    # the shared attributes come from the fragment; the module overrides diff_mode (it only reads)
    assert DOC["attributes"] == {
        "check_mode": {"details": DOC["attributes"]["check_mode"]["details"]},
        "diff_mode": {"support": "none"},
    }


def _walk_return_docs(doc: dict[str, t.Any], where: str) -> t.Iterator[tuple[str, dict[str, t.Any]]]:
    for key, d in doc.items():
        yield f"{where}{key}", d
        yield from _walk_return_docs(d.get("contains") or {}, f"{where}{key}.")


def test_every_return_value_documented_with_sample() -> None:
    for key, d in RET.items():
        assert d["version_added"] == "0.1.0" and d["returned"] == "always", key
    for key, d in _walk_return_docs(RET, ""):
        assert d.get("description"), key
        assert "sample" in d or "contains" in d, key


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_returned_key_is_documented(name: str) -> None:
    result, _unused = run(name)
    common = {"changed", "failed", "msg", "warnings"}
    assert set(result) - common == set(RET)
    for section in ("os", "summary"):
        assert set(result[section]) == set(RET[section]["contains"]), section
    assert set(result["service"]) == set(RET["service"]["contains"])
    for p in result["products"]:
        assert set(p) == set(RET["products"]["contains"])
        if p["kms_client"]:
            assert set(p["kms_client"]) == set(RET["products"]["contains"]["kms_client"]["sample"])
        if p["kms_host"]:
            assert set(p["kms_host"]) == set(RET["products"]["contains"]["kms_host"]["sample"])
    assert set(result["service"]["kms_client"]) == set(RET["service"]["contains"]["kms_client"]["contains"])


def test_client_module_name_constant() -> None:
    assert _client.EXECUTOR == "winops.volume_activation.licensing_batch"
