"""kms_srv_record: the windows_dns path replays executor results (tests/unit/test_data/kms_srv_record, see
record.py for which are recorded from the lab and which are shaped after Microsoft's documentation); the
rfc2136 path's validation and retry logic with a fake DNS client (the real exchange is tested against BIND
in tests/integration/test_kms_srv_record.py); the documentation stub against the argument spec."""

from __future__ import annotations

import copy
import typing as t

import pytest
import yaml

from ansible_collections.winops.volume_activation.plugins.action import kms_srv_record
from ansible_collections.winops.volume_activation.plugins.action.kms_srv_record import ActionModule
from ansible_collections.winops.volume_activation.plugins.modules import kms_srv_record as doc_stub
from ansible_collections.winops.volume_activation.plugins.plugin_utils import _dns, _kms_srv_record
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import (
    DisplayRecorder,
    load_data,
    make_action,
)

ACTION = "winops.volume_activation.kms_srv_record"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
NS = "root/MicrosoftDNS"
READ_OPS = [
    {"op": "cim_query", "class": "MicrosoftDNS_Zone", "namespace": NS, "filter": "Name = 'contoso.com'",
     "properties": ["Name"]},
    {"op": "cim_query", "class": "MicrosoftDNS_SRVType", "namespace": NS,
     "filter": "ContainerName = 'contoso.com' AND OwnerName = '_vlmcs._tcp.contoso.com'",
     "properties": ["ContainerName", "OwnerName", "TTL", "Priority", "Weight", "Port", "SRVDomainName"]},
    {"op": "cim_query", "class": "MicrosoftDNS_Server", "namespace": NS, "properties": ["Name"]},
]


def rec(target: str, port: int = 1688, priority: int = 0, weight: int = 0, ttl: int = 3600) -> dict[str, t.Any]:
    return {"target": target, "port": port, "priority": priority, "weight": weight, "ttl": ttl}


def run(scenario: str, *, args: dict[str, t.Any] | None = None, responses: list[t.Any] | None = None,
        check_mode: bool = False, diff: bool = False) -> tuple[dict[str, t.Any], t.Any]:
    data = load_data("kms_srv_record", f"{scenario}.json")
    plugin, fake = make_action(ActionModule, data["args"] if args is None else args,
                               data["round_trips"] if responses is None else responses,
                               check_mode=check_mode, diff=diff, action=ACTION)
    return plugin.run(task_vars={}), fake


# ----------------------------------------------------------------------------------------- windows_dns


def test_windows_replace_host_adds_then_deletes_the_stale_record() -> None:
    result, fake = run("wmi_replace_host", diff=True)
    assert fake.operations == [READ_OPS, [
        {"op": "cim_invoke", "class": "MicrosoftDNS_SRVType", "method": "CreateInstanceFromPropertyData",
         "namespace": NS, "static": True,
         # the server's own FQDN, read with the records (MicrosoftDNS_Server.Name), never "."
         "arguments": {"DnsServerName": "dc01.contoso.com", "ContainerName": "contoso.com",
                       "OwnerName": "_vlmcs._tcp.contoso.com",
                       "TTL": 3600, "Priority": 10, "Weight": 0, "Port": 1688, "SRVDomainName": "kms2.contoso.com."}},
        {"op": "cim_delete", "class": "MicrosoftDNS_SRVType", "namespace": NS,
         "filter": "ContainerName = 'contoso.com' AND OwnerName = '_vlmcs._tcp.contoso.com' AND "
                   "SRVDomainName = 'kms-old.contoso.com.' AND Port = 1688 AND Priority = 0 AND Weight = 0"},
        *READ_OPS,
    ]]
    assert all(call["module_name"] == "winops.volume_activation.licensing_batch" for call in fake.calls)
    assert result["changed"] is True
    assert result["round_trips"] == 2
    assert result["records"] == [rec("kms1.contoso.com"), rec("kms2.contoso.com", priority=10)]
    assert result["before"] == [rec("kms-old.contoso.com"), rec("kms1.contoso.com")]
    assert result["added"] == [rec("kms2.contoso.com", priority=10)]
    assert result["removed"] == [rec("kms-old.contoso.com")]
    assert result["updated"] == []
    expected = ("contoso.com", "_vlmcs._tcp.contoso.com", "windows_dns")
    assert (result["zone"], result["name"], result["method"]) == expected
    assert result["diff"] == {
        "before": "0 0 1688 kms-old.contoso.com (TTL 3600)\n0 0 1688 kms1.contoso.com (TTL 3600)\n",
        "after": "0 0 1688 kms1.contoso.com (TTL 3600)\n10 0 1688 kms2.contoso.com (TTL 3600)\n",
        "before_header": "_vlmcs._tcp.contoso.com SRV",
        "after_header": "_vlmcs._tcp.contoso.com SRV",
    }
    assert "failed" not in result


def test_windows_check_mode_reads_once_and_sends_nothing() -> None:
    data = load_data("kms_srv_record", "wmi_replace_host.json")
    result, fake = run("wmi_replace_host", responses=data["round_trips"][:1], check_mode=True)
    assert fake.operations == [READ_OPS]
    assert fake.calls[0]["check_mode"] is True  # the read runs in check mode (executor contract)
    assert result["changed"] is True
    assert result["round_trips"] == 1
    assert result["records"] == [rec("kms1.contoso.com"), rec("kms2.contoso.com", priority=10)]
    assert result["changes"] == [
        "add SRV record '10 0 1688 kms2.contoso.com' (TTL 3600) at '_vlmcs._tcp.contoso.com'",
        "remove SRV record '0 0 1688 kms-old.contoso.com' at '_vlmcs._tcp.contoso.com'",
    ]


def test_windows_noop_is_one_round_trip() -> None:
    result, fake = run("wmi_noop", diff=True)
    assert fake.operations == [READ_OPS]
    assert result["changed"] is False
    assert result["round_trips"] == 1
    assert result["records"] == [rec("kms1.contoso.com"), rec("kms2.contoso.com", priority=10)]
    assert result["diff"]["before"] == result["diff"]["after"]


def test_windows_update_uses_modify_on_the_exact_record_and_leaves_others() -> None:
    result, fake = run("wmi_update_port")
    assert fake.operations[1] == [
        {"op": "cim_invoke", "class": "MicrosoftDNS_SRVType", "method": "Modify", "namespace": NS,
         "filter": "ContainerName = 'contoso.com' AND OwnerName = '_vlmcs._tcp.contoso.com' AND "
                   "SRVDomainName = 'kms1.contoso.com.' AND Port = 1688 AND Priority = 0 AND Weight = 0",
         "arguments": {"TTL": 1200, "Priority": 0, "Weight": 0, "Port": 1689}},
        *READ_OPS,
    ]
    assert result["changed"] is True
    assert result["updated"] == [{"target": "kms1.contoso.com", "before": rec("kms1.contoso.com"),
                                  "after": rec("kms1.contoso.com", port=1689, ttl=1200)}]
    assert result["records"] == [rec("kms1.contoso.com", port=1689, ttl=1200), rec("kms9.contoso.com")]


def test_windows_without_the_dns_role_explains_invalid_namespace() -> None:
    result, fake = run("wmi_no_dns_role")
    assert fake.operations == [READ_OPS]
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"] == (
        "Failed to read the SRV records '_vlmcs._tcp.contoso.com' of zone 'contoso.com' through root/MicrosoftDNS: "
        "0x8004100E (WBEM_E_INVALID_NAMESPACE): the namespace does not exist on this host, so the DNS Server role "
        "is not installed here; run the task on the Windows DNS server or use method=rfc2136"
    )


def test_windows_zone_not_hosted() -> None:
    result, _unused = run("wmi_zone_missing")
    assert result["failed"] is True
    assert result["msg"] == (
        "Failed to read the SRV records '_vlmcs._tcp.contoso.com' of zone 'contoso.com' through root/MicrosoftDNS: "
        "the DNS server on this host does not host zone 'contoso.com' (no MicrosoftDNS_Zone instance of that name)"
    )


def test_windows_failed_create_stops_and_is_explained() -> None:
    data = load_data("kms_srv_record", "wmi_replace_host.json")
    apply = copy.deepcopy(data["round_trips"][1])
    apply["changed"] = False
    apply["results"][0] = {
        "op": "cim_invoke", "ok": False, "matched": 1, "hresult": 2147942405, "hresult_hex": "0x80070005",
        "error": "Access denied", "invocations": [{"key": None, "return_value": None, "out": None,
                                                   "hresult": 2147942405, "hresult_hex": "0x80070005",
                                                   "error": "Access denied"}]}
    apply["results"][1] = {"op": "cim_delete", "ok": False, "skipped": True}
    # the read-back after the skipped delete still runs (executor protocol): the state as it is
    apply["results"][2:5] = copy.deepcopy(data["round_trips"][0]["results"])
    result, fake = run("wmi_replace_host", responses=[data["round_trips"][0], apply])
    assert fake.operations[1][2:] == READ_OPS and result["round_trips"] == 2
    assert result["failed"] is True
    assert result["msg"].startswith(
        "Failed to add SRV record '10 0 1688 kms2.contoso.com' (TTL 3600) at '_vlmcs._tcp.contoso.com': "
        "0x80070005 (E_ACCESSDENIED)")
    assert result["records"] == [rec("kms-old.contoso.com"), rec("kms1.contoso.com")]


def test_windows_record_changed_by_another_writer() -> None:
    data = load_data("kms_srv_record", "wmi_update_port.json")
    apply = copy.deepcopy(data["round_trips"][1])
    apply["results"][0] = {"op": "cim_invoke", "ok": True, "matched": 0, "invocations": []}
    apply["changed"] = False
    apply["results"][2]["instances"] = [data["round_trips"][0]["results"][1]["instances"][1]]
    result, _unused = run("wmi_update_port", responses=[data["round_trips"][0], apply])
    assert result["failed"] is True
    assert result["msg"] == (
        "Failed to change SRV record '0 0 1688 kms1.contoso.com' (TTL 3600) to '0 0 1689 kms1.contoso.com' "
        "(TTL 1200) at '_vlmcs._tcp.contoso.com': the record is no longer on the server (changed by another "
        "writer since it was read); run the task again"
    )


def test_windows_read_back_that_differs_fails() -> None:
    data = load_data("kms_srv_record", "wmi_update_port.json")
    apply = copy.deepcopy(data["round_trips"][1])
    apply["results"][2]["instances"][0]["Port"] = 1688
    result, _unused = run("wmi_update_port", responses=[data["round_trips"][0], apply])
    assert result["failed"] is True
    assert result["msg"] == (
        "Failed to update the SRV records '_vlmcs._tcp.contoso.com' in zone 'contoso.com': the server accepted the "
        "change but now holds [0 0 1688 kms1.contoso.com (TTL 1200), 0 0 1688 kms9.contoso.com (TTL 3600)] "
        "instead of [0 0 1689 kms1.contoso.com (TTL 1200), 0 0 1688 kms9.contoso.com (TTL 3600)]"
    )


# ------------------------------------------------------------------------------------ option checks


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"method": "windows_dns", "zone": "contoso.com", "server": "10.0.0.1"},
         "Failed to manage the KMS SRV records of zone 'contoso.com': server apply to method=rfc2136 only; "
         "method=windows_dns changes the records through the DNS Server WMI provider of the inventory host"),
        ({"method": "rfc2136", "zone": "contoso.com", "server": "127.0.0.1", "dns_server": "."},
         "Failed to manage the KMS SRV records of zone 'contoso.com': dns_server applies to method=windows_dns "
         "only; use server"),
        ({"method": "windows_dns", "zone": "contoso.com", "dns_server": "."},
         "Failed to manage the KMS SRV records of zone 'contoso.com': dns_server '.' is not a DNS server name: "
         "CreateInstanceFromPropertyData takes the FQDN or IP address of the DNS server; leave dns_server out to use "
         "the server's own name (MicrosoftDNS_Server.Name)"),
        ({"method": "rfc2136", "zone": "contoso.com", "server": "127.0.0.1", "server_port": 0},
         "Failed to manage the KMS SRV records of zone 'contoso.com': server_port 0 is out of range 1..65535"),
        ({"method": "rfc2136", "zone": "contoso.com", "server": "127.0.0.1", "timeout": 0},
         "Failed to manage the KMS SRV records of zone 'contoso.com': timeout 0 is out of range 1..3600 seconds"),
        ({"method": "rfc2136", "zone": "contoso.com", "server": "127.0.0.1", "tsig_key_name": "k.contoso.com",
          "tsig_key_secret": "%%%" + SECRET},
         "Failed to manage the KMS SRV records of zone 'contoso.com': tsig_key_secret is not valid base64 "
         "(47 characters; the value is not shown)"),
        ({"method": "rfc2136", "zone": "contoso.com", "server": "127.0.0.1",
          "records": [{"target": "kms1.contoso.com", "port": 99999}]},
         "Failed to manage the KMS SRV records of zone 'contoso.com': records[0].port 99999 is out of range "
         "1..65535"),
        ({"method": "rfc2136", "zone": "contoso.com"}, "method is rfc2136 but all of the following are missing: server"),
        ({"method": "rfc2136", "zone": "contoso.com", "server": "127.0.0.1", "tsig_key_secret": SECRET},
         "parameters are required together: tsig_key_name, tsig_key_secret"),
    ],
)
def test_bad_options_fail_before_anything_is_sent(
    args: dict[str, t.Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*a: t.Any, **k: t.Any) -> t.NoReturn:
        raise AssertionError("a DNS client was created")

    monkeypatch.setattr(_dns, "SrvZoneClient", no_network)
    plugin, fake = make_action(ActionModule, args, [], action=ACTION)
    result = plugin.run(task_vars={})
    assert fake.calls == []
    assert result["failed"] is True
    assert result["changed"] is False
    assert message in result["msg"]
    assert SECRET not in str(result)


# ------------------------------------------------------------------------- rfc2136 with a fake server


class FakeZone:
    """Stands in for _dns.SrvZoneClient: holds an RRset, fails the first updates when told to."""

    instances: t.ClassVar[list[FakeZone]] = []

    def __init__(self, server: str, zone: str, *, port: int, tsig: _dns.TsigKey | None, timeout: float,
                 log: t.Callable[[int, str], None]) -> None:
        self.server, self.zone, self.port, self.tsig, self.timeout, self.log = server, zone, port, tsig, timeout, log
        self.records: list[_kms_srv_record.SrvRecord] = []
        self.reads = 0
        self.updates: list[_kms_srv_record.SrvPlan] = []
        self.races: list[_kms_srv_record.SrvRecord] = []  # records a "concurrent writer" adds before each of the next updates
        self.where = f"DNS server '{server}' port {port}"
        FakeZone.instances.append(self)

    def read(self, owner: str) -> list[_kms_srv_record.SrvRecord]:
        self.reads += 1
        self.log(2, f"read {owner}")
        return list(self.records)

    def update(self, owner: str, plan: _kms_srv_record.SrvPlan) -> None:
        self.updates.append(plan)
        if self.races:
            self.records.append(self.races.pop(0))
            raise _dns.PrerequisiteFailed("Failed to update ...: NXRRSET: prerequisite failed", "NXRRSET")
        self.records = list(plan.after)


@pytest.fixture
def fake_zone(monkeypatch: pytest.MonkeyPatch) -> type[FakeZone]:
    FakeZone.instances = []
    monkeypatch.setattr(_dns, "SrvZoneClient", FakeZone)
    return FakeZone


RFC_ARGS = {"method": "rfc2136", "zone": "contoso.com", "server": "127.0.0.1", "server_port": 5353,
            "tsig_key_name": "ddns.contoso.com", "tsig_key_secret": SECRET,
            "records": [{"target": "kms1.contoso.com"}]}


def test_rfc2136_never_calls_the_executor(fake_zone: type[FakeZone], display_recorder: DisplayRecorder) -> None:
    plugin, fake = make_action(ActionModule, dict(RFC_ARGS), [], action=ACTION, diff=True)
    result = plugin.run(task_vars={})
    zone = fake_zone.instances[0]
    assert fake.calls == []
    assert (zone.server, zone.port, zone.timeout) == ("127.0.0.1", 5353, 10.0)
    assert zone.tsig == _dns.TsigKey("ddns.contoso.com", SECRET, "hmac-sha256")
    assert zone.reads == 2  # read, update, read back
    assert len(zone.updates) == 1
    assert result["changed"] is True
    assert result["round_trips"] == 0
    assert result["records"] == [rec("kms1.contoso.com")]
    assert result["diff"]["after"] == "0 0 1688 kms1.contoso.com (TTL 3600)\n"
    assert "winops.volume_activation.kms_srv_record: read _vlmcs._tcp.contoso.com" in display_recorder.text


def test_rfc2136_check_mode_reads_only(fake_zone: type[FakeZone]) -> None:
    plugin, _unused = make_action(ActionModule, dict(RFC_ARGS), [], action=ACTION, check_mode=True)
    result = plugin.run(task_vars={})
    zone = fake_zone.instances[0]
    assert (zone.reads, zone.updates) == (1, [])
    assert result["changed"] is True
    assert result["added"] == [rec("kms1.contoso.com")]


def test_rfc2136_replans_when_a_concurrent_writer_wins(fake_zone: type[FakeZone]) -> None:
    original = FakeZone.__init__

    def init(self: FakeZone, *a: t.Any, **k: t.Any) -> None:
        original(self, *a, **k)
        self.races = [_kms_srv_record.SrvRecord("kms7.contoso.com", 1688, 0, 0, 3600)]

    FakeZone.__init__ = init  # type: ignore[method-assign]
    try:
        plugin, _unused = make_action(ActionModule, {**RFC_ARGS, "exclusive": True}, [], action=ACTION)
        result = plugin.run(task_vars={})
    finally:
        FakeZone.__init__ = original  # type: ignore[method-assign]
    zone = fake_zone.instances[0]
    assert len(zone.updates) == 2
    assert result["changed"] is True
    assert result["removed"] == [rec("kms7.contoso.com")]  # the second plan saw the other writer's record
    assert result["records"] == [rec("kms1.contoso.com")]


def test_rfc2136_gives_up_after_three_failed_prerequisites(fake_zone: type[FakeZone]) -> None:
    original = FakeZone.__init__

    def init(self: FakeZone, *a: t.Any, **k: t.Any) -> None:
        original(self, *a, **k)
        self.races = [_kms_srv_record.SrvRecord(f"kms{i}0.contoso.com", 1688, 0, 0, 3600) for i in range(5)]

    FakeZone.__init__ = init  # type: ignore[method-assign]
    try:
        plugin, _unused = make_action(ActionModule, dict(RFC_ARGS), [], action=ACTION)
        result = plugin.run(task_vars={})
    finally:
        FakeZone.__init__ = original  # type: ignore[method-assign]
    assert len(fake_zone.instances[0].updates) == kms_srv_record.UPDATE_ATTEMPTS
    assert result["failed"] is True
    assert result["msg"] == "Failed to update ...: NXRRSET: prerequisite failed"


# ------------------------------------------------------------------------------------ documentation


def _compare(doc_opts: dict[str, t.Any], arg_spec: dict[str, t.Any], where: str) -> None:
    assert sorted(doc_opts) == sorted(arg_spec), where
    assert list(doc_opts) == sorted(doc_opts), f"{where}: options not in alphabetical order"
    for opt, d in doc_opts.items():
        s = arg_spec[opt]
        for key in ("default", "choices", "elements"):
            assert d.get(key) == s.get(key), f"{where}.{opt} {key}"
        assert d.get("type", "str") == s.get("type", "str"), f"{where}.{opt} type"
        assert bool(d.get("required")) == bool(s.get("required")), f"{where}.{opt} required"
        assert d.get("version_added") == "0.1.0", f"{where}.{opt} version_added"
        assert d.get("description"), f"{where}.{opt} description"
        if "suboptions" in d or "options" in s:
            _compare(d["suboptions"], s["options"], f"{where}.{opt}")


def test_documented_options_match_the_argument_spec() -> None:
    doc = yaml.safe_load(doc_stub.DOCUMENTATION)
    assert doc["module"] == "kms_srv_record"
    # check_mode and diff_mode support comes from the shared fragment (plugins/doc_fragments/attributes.py)
    assert "winops.volume_activation.attributes" in doc["extends_documentation_fragment"]
    assert "support" not in doc["attributes"]["check_mode"] and doc["attributes"]["check_mode"]["details"]
    assert "support" not in doc["attributes"]["diff_mode"] and doc["attributes"]["diff_mode"]["details"]
    _compare(doc["options"], ActionModule.ARGUMENT_SPEC, "kms_srv_record")
    assert ActionModule.ARGUMENT_SPEC["tsig_key_secret"]["no_log"] is True


@pytest.mark.parametrize("scenario", ["wmi_replace_host", "wmi_noop"])
def test_every_returned_key_is_documented(scenario: str) -> None:
    result, _unused = run(scenario)
    ret = yaml.safe_load(doc_stub.RETURN)
    common = {"changed", "failed", "msg", "warnings", "diff", "invocation", "_ansible_no_log"}
    assert set(result) - common <= set(ret), sorted(set(result) - common - set(ret))
    for key, d in ret.items():
        assert d.get("version_added") == "0.1.0", key
        assert "sample" in d or "contains" in d, key
