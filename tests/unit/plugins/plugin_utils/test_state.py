from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _state
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import licensing_read, load_data

UTC = dt.timezone.utc
WIN = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFF = "0ff1ce15-a989-479d-af46-f275c6370663"
O10 = "59a52881-a989-479d-af46-f275c6370663"


def scenario(name: str) -> tuple[_state.StateQuery, _state.HostState]:
    data = load_data("license_info", f"{name}.json")
    query = _state.StateQuery(include_unlicensed=data["args"].get("include_unlicensed", False))
    return query, _state.parse_state(query, data["module_result"]["results"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4294967295, -1), (-1, -1), (0, 0), (7, 7), (None, None), ("12", 12), (True, None)],
)
def test_u32_signed(value: t.Any, expected: int | None) -> None:
    assert _state.u32_signed(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(0, 1688), (None, None), (1700, 1700)])
def test_port(value: t.Any, expected: int | None) -> None:
    assert _state.port(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28T15:00:00+00:00", dt.datetime(2026, 11, 28, 15, tzinfo=UTC)),
        ("2026-11-28T15:00:00Z", dt.datetime(2026, 11, 28, 15, tzinfo=UTC)),
        ("2026-11-29T00:00:00+09:00", dt.datetime(2026, 11, 28, 15, tzinfo=UTC)),
        ("20261129000000.000000+540", dt.datetime(2026, 11, 28, 15, tzinfo=UTC)),
        ("1601-01-01T00:00:00+00:00", None),
        ("16010101000000.000000+000", None),
        ("", None),
        (None, None),
        ("garbage", None),
    ],
)
def test_parse_datetime(value: t.Any, expected: dt.datetime | None) -> None:
    assert _state.parse_datetime(value) == expected


@pytest.mark.parametrize(
    ("pkc", "description", "channel"),
    [
        ("Volume:GVLK", "Windows(R) Operating System, VOLUME_KMSCLIENT channel", "kms_client"),
        ("Volume:CSVLK", "Windows(R) Operating System, VOLUME_KMS_WS22 channel", "kms_host"),
        ("Volume:MAK", "Windows(R) Operating System, VOLUME_MAK channel", "mak"),
        ("Retail", "Windows(R) Operating System, RETAIL channel", "retail"),
        ("OEM:DM", "Windows(R) Operating System, OEM_DM channel", "oem"),
        (None, "Windows Operating System - Windows(R) 7, VOLUME_KMSCLIENT channel", "kms_client"),
        (None, "Office 14, VOLUME_KMSCLIENT channel", "kms_client"),
        (None, "Microsoft Office 2010 KMS, VOLUME_KMS channel", "kms_host"),
        (None, "Windows(R) Operating System, TIMEBASED_EVAL channel", "timebased"),
        (None, "Windows(R) Operating System, VIRTUAL_MACHINE_ACTIVATION channel", "avma"),
        (None, "Office 14, VOLUME_MAK channel", "mak"),
        (None, "Windows(R) Operating System, RETAIL channel", "retail"),
        (None, None, "unknown"),
    ],
)
def test_classify_channel(pkc: str | None, description: str | None, channel: str) -> None:
    assert _state.classify_channel(pkc, description) == channel


def test_default_query_operations() -> None:
    assert _state.StateQuery().operations() == [
        {"op": "cim_query", "class": "Win32_OperatingSystem",
         "properties": ["Caption", "Version", "BuildNumber", "OperatingSystemSKU", "ProductType", "LocalDateTime"]},
        licensing_read("SoftwareLicensingService"),
        licensing_read("SoftwareLicensingProduct", "PartialProductKey <> null"),
        licensing_read("OfficeSoftwareProtectionService"),
        licensing_read("OfficeSoftwareProtectionProduct", "PartialProductKey <> null"),
    ]


@pytest.mark.parametrize("query", [_state.StateQuery(), _state.StateQuery(application="windows"),
                                   _state.StateQuery(activation_ids=("a",)), _state.StateQuery(include_os=False)])
def test_every_read_names_its_columns(query: _state.StateQuery) -> None:
    """Never SELECT * (slmgr.vbs and ospp.vbs name their columns): every query has a property list."""
    for op in query.operations():
        assert op.get("properties"), op


@pytest.mark.parametrize("cls", [_state.SPP_SERVICE, _state.SPP_PRODUCT])
def test_one_property_list_per_class_holds_everything_the_parser_reads(cls: str) -> None:
    """Parse an instance holding only the selected columns: nothing the model fills from a
    column outside the list (a full instance and a selected one parse the same)."""
    selected = {name for name, _everywhere in _state.LICENSING_PROPERTIES[cls]}
    # Members the classes have (on some version) that the lists leave out: a parser reading one
    # of them would see a value here and None in ``chosen``.
    unselected: dict[str, t.Any] = {
        "VLActivationTypeEnabled": 2, "KeyManagementServiceActivationDisabled": True,
        "TrustedTime": "2026-11-01T00:00:00+00:00", "LicenseFamily": "f", "ProductKeyID2": "p2",
        "RemainingAppReArmCount": 5, "RemainingSkuReArmCount": 5, "ProductKeyChannel": "Volume:MAK",
        "KeyManagementServiceLookupDomain": "other.test", "RemainingWindowsReArmCount": 3,
        "KeyManagementServiceListeningPort": 1689, "KeyManagementServiceDnsPublishing": False,
        "OA3xOriginalProductKey": "k", "ExtendedGrace": 1, "GenuineStatus": 1,
    }
    full: dict[str, t.Any] = {
        **{n: 7 for n in selected}, "ID": "x", "Name": "n", "ApplicationID": WIN, "PartialProductKey": "ABCDE",
        "Description": "VOLUME_KMSCLIENT", "KeyManagementServiceMachine": "kms", "Version": "v",
        "KeyManagementServiceLookupDomain": "d", "ProductKeyChannel": "Volume:GVLK",
        "EvaluationEndDate": None, "DiscoveredKeyManagementServiceMachineIpAddress": "1.2.3.4",
    }
    full = {k: v for k, v in full.items() if k in selected} | {k: v for k, v in unselected.items() if k not in selected}
    chosen = {k: v for k, v in full.items() if k in selected}
    if cls.endswith("Service"):
        source = "ospp" if cls.startswith("Office") else "spp"
        assert _state.LicensingService.from_cim(full, source) == _state.LicensingService.from_cim(chosen, source)
    else:
        svc = _state.LicensingService.from_cim({"KeyManagementServiceMachine": "kms"}, "spp")
        assert _state.LicensingProduct.from_cim(full, "spp", svc, None) == \
            _state.LicensingProduct.from_cim(chosen, "spp", svc, None)


@pytest.mark.parametrize(
    ("query", "spp_filter", "ospp"),
    [
        (_state.StateQuery(include_unlicensed=True), None, True),
        (_state.StateQuery(application="windows"),
         f"PartialProductKey <> null AND (ApplicationID = '{WIN}')", False),
        (_state.StateQuery(application="office"),
         f"PartialProductKey <> null AND (ApplicationID = '{OFF}' OR ApplicationID = '{O10}')", True),
        (_state.StateQuery(activation_ids=("a", "b'c")), "(ID = 'a' OR ID = 'b\\'c')", True),
    ],
)
def test_query_variants(query: _state.StateQuery, spp_filter: str | None, ospp: bool) -> None:
    ops = query.operations()
    assert ops[2].get("filter") == spp_filter
    assert any(op["class"] == "OfficeSoftwareProtectionProduct" for op in ops) is ospp


def test_parse_requires_all_results() -> None:
    with pytest.raises(ValueError, match="expected 5 results"):
        _state.parse_state(_state.StateQuery(), [])


def test_windows_kms_client() -> None:
    _query, s = scenario("windows_kms_client")
    assert s.ospp_present is False and s.ospp_service is None and s.errors == ()
    (p,) = s.products
    assert (p.family, p.channel, p.status, p.activated) == ("windows", "kms_client", "licensed", True)
    assert p.partial_product_key == "VMK7H"
    assert p.grace_remaining_minutes == 259200
    assert p.grace_expires == dt.datetime(2027, 5, 27, 15, tzinfo=UTC)  # host time + 180 days
    assert p.evaluation_end_date is None  # 1601 = none
    assert p.kms_host is None
    assert p.kms_client == _state.KmsClientView(
        configured_host=None, configured_port=None, configured_at=None, lookup_domain=None,
        discovered_host="kms01.corp.example.test", discovered_port=1688, discovered_ip="127.0.10.10",
        kms_host_pid="06401-00206-551-012345-03-1033-20348.0000-3322026",
        activation_interval_minutes=120, renewal_interval_minutes=10080, host_caching=True, activation_type="all",
    )
    assert s.primary_windows is p
    assert s.service is not None and s.service.cmid == "7c6d1a2b-0f2e-4a41-9e33-3a0a51e5e1c4"
    # A KMS client's service reports uint32 -1 for the host counters: read as -1, role off.
    assert s.service.current_count == -1 and s.service.is_kms_host is False


def test_windows_kms_host() -> None:
    _query, s = scenario("windows_kms_host")
    win, office = s.products
    assert win.channel == "kms_host" and win.is_kms_host
    assert win.kms_host is not None
    assert win.kms_host.current_count == -1  # 4294967295: no client yet
    assert win.kms_host.required_count == 5
    assert win.kms_host.listening_port == 1688  # 0 -> 1688
    assert (win.kms_host.dns_publishing, win.kms_host.low_priority) == (True, False)
    assert office.office_version == "2016" and office.family == "office"
    assert office.kms_host is not None and office.kms_host.current_count == 7
    assert office.kms_host.requests == _state.KmsRequests(12, 0, 0, 5, 7, 0, 0, 0)
    assert [p.id for p in s.kms_host_products] == [win.id, office.id]
    assert s.primary_windows is win  # the Office host license is an add-on


def test_mak_server() -> None:
    _query, s = scenario("mak_server")
    (p,) = s.products
    assert (p.channel, p.status, p.grace_remaining_minutes, p.grace_expires) == ("mak", "licensed", 0, None)
    assert p.kms_client is None and p.kms_host is None
    assert s.host_time == dt.datetime(2026, 11, 28, 15, 30, tzinfo=UTC)


def test_office2010_ospp() -> None:
    _query, s = scenario("office2010_ospp")
    assert s.ospp_present is True
    assert s.ospp_service is not None and s.ospp_service.version == "14.0.7015.1000"
    win, office = s.products
    assert win.source == "spp" and win.product_key_channel is None and win.channel == "kms_client"
    assert win.remaining_sku_rearm_count is None  # Windows 7 has no such property
    assert office.source == "ospp" and office.family == "office2010" and office.office_version == "2010"
    assert office.kms_client is not None
    assert (office.kms_client.configured_host, office.kms_client.configured_at) == ("kms01.corp.example.test", "product")
    assert office.kms_client.activation_type is None
    # grace date in the host's own offset (+09:00)
    assert office.grace_expires is not None and office.grace_expires.utcoffset() == dt.timedelta(hours=9)
    assert s.service_for(office) is s.ospp_service


def test_office2016_spp() -> None:
    _query, s = scenario("office2016_spp")
    win, office = s.products
    assert win.kms_client is not None and win.kms_client.configured_at == "service"
    assert win.kms_client.configured_host == "kms01.corp.example.test"
    assert (office.family, office.office_version, office.status) == ("office", "2016", "initial_grace")
    info = office.status_reason_info
    assert info is not None and info["hex"] == "0x4004F00C"
    assert office.remaining_app_rearm_count == 5


def test_unlicensed_notification() -> None:
    _query, s = scenario("unlicensed_notification")
    gvlk, education, retail = s.products
    assert gvlk.status == "notification" and gvlk.grace_expires is None
    assert gvlk.status_reason_info is not None
    assert gvlk.status_reason_info["symbol"] == "SL_E_GRACE_TIME_EXPIRED"
    assert education.partial_product_key is None and not education.has_key and education.status == "unlicensed"
    assert retail.channel == "retail"
    assert s.primary_windows is gvlk


def test_other_query_failure_is_recorded() -> None:
    query = _state.StateQuery(application="windows")
    results = [
        {"op": "cim_query", "ok": True, "instances": []},
        {"op": "cim_query", "ok": False, "hresult": 0x80070005, "hresult_hex": "0x80070005", "error": "Access denied"},
        {"op": "cim_query", "ok": True, "instances": []},
    ]
    s = _state.parse_state(query, results)
    assert s.service is None and s.ospp_present is None
    assert s.errors[0][0] == "SoftwareLicensingService"
    assert s.errors[0][1]["message"].startswith("0x80070005 (E_ACCESSDENIED)")


@pytest.mark.parametrize(
    ("name", "edition"),
    [("Windows(R), ServerStandard edition", "ServerStandard"), ("Windows(R) 7, Enterprise edition", "Enterprise"),
     ("nothing", None), (None, None)],
)
def test_edition_of(name: str | None, edition: str | None) -> None:
    assert _state.edition_of(name) == edition


@pytest.mark.parametrize(("product_host", "service_host", "expected"), [
    ("kms01.corp.example.test", "KMS01.corp.example.test", ("KMS01.corp.example.test", "service")),  # slmgr /skms
    ("kms02.corp.example.test", "kms01.corp.example.test", ("kms02.corp.example.test", "product")),  # /skms <id>
    ("kms02.corp.example.test", None, ("kms02.corp.example.test", "product")),
    (None, "kms01.corp.example.test", ("kms01.corp.example.test", "service")),
])
def test_a_product_showing_the_services_host_is_configured_on_the_service(
        product_host: str | None, service_host: str | None, expected: tuple[str, str]) -> None:
    svc = _state.LicensingService.from_cim({"KeyManagementServiceMachine": service_host}, "spp")
    row = {"ID": "w", "Name": "Windows(R), Enterprise edition", "ApplicationID": "55c92734-d682-4d71-983e-d6ec3f16059f",
           "Description": "Windows(R) Operating System, VOLUME_KMSCLIENT channel", "PartialProductKey": "2YT43",
           "LicenseStatus": 2, "KeyManagementServiceMachine": product_host}
    p = _state.LicensingProduct.from_cim(row, "spp", svc, None)
    assert p.kms_client is not None
    assert (p.kms_client.configured_host, p.kms_client.configured_at) == expected
