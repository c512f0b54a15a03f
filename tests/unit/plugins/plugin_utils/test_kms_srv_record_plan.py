"""The SRV planner and validation (_kms_srv_record.py), the WMI operations it builds, and the RFC 2136 message (_dns.py)."""

from __future__ import annotations

import typing as t

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _dns, _kms_srv_record

ZONE = "contoso.com"
OWNER = "_vlmcs._tcp.contoso.com"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="


def rec(target: str, port: int = 1688, priority: int = 0, weight: int = 0, ttl: int = 3600) -> _kms_srv_record.SrvRecord:
    return _kms_srv_record.SrvRecord(target=target, port=port, priority=priority, weight=weight, ttl=ttl)


def want(records: list[dict[str, t.Any]], **params: t.Any) -> _kms_srv_record.DesiredSrv:
    return _kms_srv_record.desired_srv({"zone": ZONE, "records": records, **params})


def views(records: t.Iterable[_kms_srv_record.SrvRecord]) -> list[str]:
    return [f"{r.view()} @{r.ttl}" for r in records]


# ------------------------------------------------------------------------------------------- planning

PLAN_CASES = [
    pytest.param(
        [{"target": "kms1.contoso.com"}], {}, [], True,
        ["0 0 1688 kms1.contoso.com @3600"], [], [], ["0 0 1688 kms1.contoso.com @3600"],
        id="add-to-empty",
    ),
    pytest.param(
        [{"target": "kms1.contoso.com"}], {}, [rec("kms1.contoso.com")], True,
        [], [], [], ["0 0 1688 kms1.contoso.com @3600"],
        id="idempotent-no-op",
    ),
    pytest.param(
        [{"target": "KMS1.Contoso.com."}], {}, [rec("kms1.contoso.com")], True,
        [], [], [], ["0 0 1688 kms1.contoso.com @3600"],
        id="no-op-ignores-case-and-trailing-dot",
    ),
    pytest.param(
        [{"target": "kms1.contoso.com", "priority": 10}], {}, [rec("kms1.contoso.com")], True,
        [], [("0 0 1688 kms1.contoso.com @3600", "10 0 1688 kms1.contoso.com @3600")], [],
        ["10 0 1688 kms1.contoso.com @3600"],
        id="update-priority",
    ),
    pytest.param(
        [{"target": "kms1.contoso.com", "port": 1689, "weight": 50}], {}, [rec("kms1.contoso.com")], True,
        [], [("0 0 1688 kms1.contoso.com @3600", "0 50 1689 kms1.contoso.com @3600")], [],
        ["0 50 1689 kms1.contoso.com @3600"],
        id="update-port-and-weight",
    ),
    pytest.param(
        [{"target": "kms1.contoso.com"}, {"target": "kms2.contoso.com"}], {"exclusive": True},
        [rec("kms1.contoso.com"), rec("kms-old.contoso.com")], True,
        ["0 0 1688 kms2.contoso.com @3600"], [], ["0 0 1688 kms-old.contoso.com @3600"],
        ["0 0 1688 kms1.contoso.com @3600", "0 0 1688 kms2.contoso.com @3600"],
        id="exclusive-removes-stale",
    ),
    pytest.param(
        [{"target": "kms2.contoso.com"}], {},
        [rec("kms-old.contoso.com")], True,
        ["0 0 1688 kms2.contoso.com @3600"], [], [],
        ["0 0 1688 kms-old.contoso.com @3600", "0 0 1688 kms2.contoso.com @3600"],
        id="not-exclusive-keeps-others",
    ),
    pytest.param(
        [], {"exclusive": True}, [rec("kms1.contoso.com"), rec("kms2.contoso.com")], True,
        [], [], ["0 0 1688 kms1.contoso.com @3600", "0 0 1688 kms2.contoso.com @3600"], [],
        id="exclusive-empty-list-removes-all",
    ),
    pytest.param(
        [{"target": "kms1.contoso.com"}], {"state": "absent"},
        [rec("kms1.contoso.com", port=1689, priority=5), rec("kms2.contoso.com")], True,
        [], [], ["5 0 1689 kms1.contoso.com @3600"], ["0 0 1688 kms2.contoso.com @3600"],
        id="absent-removes-listed-target-whatever-its-port",
    ),
    pytest.param(
        [{"target": "kms3.contoso.com"}], {"state": "absent"}, [rec("kms1.contoso.com")], True,
        [], [], [], ["0 0 1688 kms1.contoso.com @3600"],
        id="absent-no-op",
    ),
    pytest.param(
        [{"target": "kms1.contoso.com"}], {},
        [rec("kms1.contoso.com", port=1689), rec("kms1.contoso.com")], True,
        [], [], ["0 0 1689 kms1.contoso.com @3600"], ["0 0 1688 kms1.contoso.com @3600"],
        id="duplicate-target-keeps-the-exact-record",
    ),
    pytest.param(
        [{"target": "kms1.contoso.com", "port": 1700}], {},
        [rec("kms1.contoso.com", port=1689), rec("kms1.contoso.com", priority=3)], True,
        [], [("0 0 1689 kms1.contoso.com @3600", "0 0 1700 kms1.contoso.com @3600")],
        ["3 0 1688 kms1.contoso.com @3600"], ["0 0 1700 kms1.contoso.com @3600"],
        id="duplicate-target-updates-first-removes-rest",
    ),
    pytest.param(
        [{"target": "kms1.contoso.com"}], {"ttl": 600},
        [rec("kms1.contoso.com"), rec("kms9.contoso.com")], True,
        [], [("0 0 1688 kms1.contoso.com @3600", "0 0 1688 kms1.contoso.com @600"),
             ("0 0 1688 kms9.contoso.com @3600", "0 0 1688 kms9.contoso.com @600")], [],
        ["0 0 1688 kms1.contoso.com @600", "0 0 1688 kms9.contoso.com @600"],
        id="rrset-ttl-change-applies-to-unlisted-records",
    ),
    pytest.param(
        [{"target": "kms1.contoso.com"}], {"ttl": 600},
        [rec("kms1.contoso.com"), rec("kms9.contoso.com")], False,
        [], [("0 0 1688 kms1.contoso.com @3600", "0 0 1688 kms1.contoso.com @600")], [],
        ["0 0 1688 kms1.contoso.com @600", "0 0 1688 kms9.contoso.com @3600"],
        id="per-record-ttl-windows-leaves-unlisted-records",
    ),
    pytest.param(
        [], {}, [rec("kms9.contoso.com", ttl=60)], True,
        [], [], [], ["0 0 1688 kms9.contoso.com @60"],
        id="empty-list-not-exclusive-touches-nothing",
    ),
]


@pytest.mark.parametrize(
    ("records", "params", "current", "rrset_ttl", "expected"),
    # each case: the task (records, params), the records on the server, the TTL model, then the
    # expected (added, updated as (before, after), removed, after) in "<view> @<ttl>" form
    [pytest.param(*case.values[:4], case.values[4:], id=case.id) for case in PLAN_CASES],
)
def test_plan(
    records: list[dict[str, t.Any]], params: dict[str, t.Any], current: list[_kms_srv_record.SrvRecord], rrset_ttl: bool,
    expected: tuple[list[str], list[tuple[str, str]], list[str], list[str]],
) -> None:
    added, updated, removed, after = expected
    plan = _kms_srv_record.plan_srv(want(records, **params), current, rrset_ttl=rrset_ttl)
    assert views(plan.add) == added
    assert [(views([u.before])[0], views([u.after])[0]) for u in plan.update] == updated
    assert views(plan.remove) == removed
    assert views(plan.after) == after
    assert plan.changed is bool(added or updated or removed)


def test_after_is_in_client_order() -> None:
    plan = _kms_srv_record.plan_srv(
        want([{"target": "b.contoso.com", "priority": 5}, {"target": "a.contoso.com", "priority": 5, "weight": 10},
              {"target": "c.contoso.com"}]),
        [], rrset_ttl=True,
    )
    assert [r.target for r in plan.after] == ["c.contoso.com", "a.contoso.com", "b.contoso.com"]


def test_diff_result_and_descriptions() -> None:
    plan = _kms_srv_record.plan_srv(
        want([{"target": "kms1.contoso.com", "priority": 10}, {"target": "kms2.contoso.com"}], exclusive=True),
        [rec("kms1.contoso.com"), rec("kms-old.contoso.com")], rrset_ttl=True,
    )
    assert plan.diff(OWNER) == {
        "before": "0 0 1688 kms-old.contoso.com (TTL 3600)\n0 0 1688 kms1.contoso.com (TTL 3600)\n",
        "after": "0 0 1688 kms2.contoso.com (TTL 3600)\n10 0 1688 kms1.contoso.com (TTL 3600)\n",
        "before_header": "_vlmcs._tcp.contoso.com SRV",
        "after_header": "_vlmcs._tcp.contoso.com SRV",
    }
    assert plan.descriptions(OWNER) == [
        "add SRV record '0 0 1688 kms2.contoso.com' (TTL 3600) at '_vlmcs._tcp.contoso.com'",
        "change SRV record '0 0 1688 kms1.contoso.com' (TTL 3600) to '10 0 1688 kms1.contoso.com' (TTL 3600) "
        "at '_vlmcs._tcp.contoso.com'",
        "remove SRV record '0 0 1688 kms-old.contoso.com' at '_vlmcs._tcp.contoso.com'",
    ]
    one = {"port": 1688, "priority": 0, "weight": 0, "ttl": 3600}
    assert plan.result() == {
        "before": [{"target": "kms-old.contoso.com", **one}, {"target": "kms1.contoso.com", **one}],
        "added": [{"target": "kms2.contoso.com", **one}],
        "removed": [{"target": "kms-old.contoso.com", **one}],
        "updated": [{"target": "kms1.contoso.com", "before": {"target": "kms1.contoso.com", **one},
                     "after": {"target": "kms1.contoso.com", **one, "priority": 10}}],
    }


# ----------------------------------------------------------------------------------------- validation


def test_defaults_and_owner() -> None:
    d = _kms_srv_record.desired_srv({"zone": "Contoso.COM.", "records": [{"target": "kms1.contoso.com", "port": None}]})
    assert (d.zone, d.owner, d.ttl, d.exclusive, d.state) == ("contoso.com", OWNER, 3600, False, "present")
    assert d.records == (rec("kms1.contoso.com"),)


def test_name_override_for_a_subdomain() -> None:
    d = _kms_srv_record.desired_srv({"zone": ZONE, "name": "_vlmcs._tcp.Branch.contoso.com.", "records": []})
    assert d.owner == "_vlmcs._tcp.branch.contoso.com"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"zone": "contoso..com"}, "zone 'contoso..com' is not a valid DNS name: it has an empty label"),
        ({"zone": ""}, "zone must be a non-empty DNS name, got ''"),
        ({"zone": "bad zone.com"},
         "zone 'bad zone.com' is not a valid DNS name: label 'bad zone' must be 1 to 63 letters, digits, '_' and "
         "'-', not starting or ending with '-'"),
        ({"records": [{"target": "kms1"}]},
         "records[0].target 'kms1' is not a fully qualified domain name: give the KMS host's FQDN, "
         "e.g. 'kms1.<domain>'"),
        ({"records": [{"target": "kms_1.contoso.com"}]},
         "records[0].target 'kms_1.contoso.com' is not a valid host name: label 'kms_1' must be 1 to 63 letters, "
         "digits and hyphens, not starting or ending with '-'"),
        ({"records": [{"target": "-kms.contoso.com"}]},
         "records[0].target '-kms.contoso.com' is not a valid host name: label '-kms' must be 1 to 63 letters, "
         "digits and hyphens, not starting or ending with '-'"),
        ({"records": [{"target": "a" * 64 + ".contoso.com"}]},
         f"records[0].target '{'a' * 64}.contoso.com' is not a valid host name: label '{'a' * 64}' must be 1 to 63 "
         "letters, digits and hyphens, not starting or ending with '-'"),
        ({"records": [{"target": "Contoso.com."}]},
         "records[0].target 'Contoso.com.' is the zone apex 'contoso.com', not a KMS host"),
        ({"records": [{"target": "kms1.contoso.com"}, {"target": "KMS1.contoso.com."}]},
         "records[1].target 'KMS1.contoso.com.' is listed twice (records[0] and records[1]); a KMS host has one "
         "record"),
        ({"records": [{"target": "kms1.contoso.com", "port": 0}]}, "records[0].port 0 is out of range 1..65535"),
        ({"records": [{"target": "kms1.contoso.com", "port": 65536}]},
         "records[0].port 65536 is out of range 1..65535"),
        ({"records": [{"target": "kms1.contoso.com", "priority": -1}]},
         "records[0].priority -1 is out of range 0..65535"),
        ({"records": [{"target": "kms1.contoso.com", "weight": 70000}]},
         "records[0].weight 70000 is out of range 0..65535"),
        ({"records": [{"target": "kms1.contoso.com", "weight": True}]},
         "records[0].weight must be an integer, got True"),
        ({"records": [{"port": 1688}]}, "records[0].target must be a non-empty host FQDN, got None"),
        ({"records": ["kms1.contoso.com"]}, "records[0] must be a dict with a target, got 'kms1.contoso.com'"),
        ({"ttl": -1}, "ttl -1 is out of range 0..2147483647"),
        ({"ttl": 2**31}, "ttl 2147483648 is out of range 0..2147483647"),
        ({"name": "_kms._tcp.contoso.com"},
         "name '_kms._tcp.contoso.com' does not start with '_vlmcs._tcp.', the owner name KMS clients look up"),
        ({"name": "_vlmcs._tcp.fabrikam.com"}, "name '_vlmcs._tcp.fabrikam.com' is not inside zone 'contoso.com'"),
        ({"name": "_vlmcs._tcp.notcontoso.com"},
         "name '_vlmcs._tcp.notcontoso.com' is not inside zone 'contoso.com'"),
        ({"state": "absent", "exclusive": True},
         "exclusive=true applies to state=present only; with state=absent the listed targets are removed"),
    ],
)
def test_validation_errors(params: dict[str, t.Any], message: str) -> None:
    with pytest.raises(_kms_srv_record.SrvValidationError) as err:
        _kms_srv_record.desired_srv({"zone": ZONE, "records": [], **params})
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("name", "secret", "algorithm", "message"),
    [
        ("key.contoso.com", "not base64!!", "hmac-sha256",
         "tsig_key_secret is not valid base64 (11 characters; the value is not shown)"),
        ("key.contoso.com", "abc", "hmac-sha256",
         "tsig_key_secret is not valid base64 (3 characters; the value is not shown)"),
        ("key.contoso.com", None, "hmac-sha256",
         "tsig_key_name and tsig_key_secret go together: tsig_key_secret is missing"),
        (None, SECRET, "hmac-sha256", "tsig_key_name and tsig_key_secret go together: tsig_key_name is missing"),
        ("key.contoso.com", SECRET, "hmac-sha3",
         "tsig_algorithm must be one of hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512, "
         "got 'hmac-sha3'"),
        ("bad key", SECRET, "hmac-sha256",
         "tsig_key_name 'bad key' is not a valid DNS name: label 'bad key' must be 1 to 63 letters, digits, '_' "
         "and '-', not starting or ending with '-'"),
    ],
)
def test_tsig_validation_errors_never_show_the_secret(
    name: str | None, secret: str | None, algorithm: str, message: str
) -> None:
    with pytest.raises(_kms_srv_record.SrvValidationError) as err:
        _kms_srv_record.validate_tsig(name, secret, algorithm)
    assert str(err.value) == message
    if secret:
        assert secret not in str(err.value)


def test_tsig_validation_accepts_keygen_output() -> None:
    assert _kms_srv_record.validate_tsig("Key.Contoso.com.", f" {SECRET[:20]}\n{SECRET[20:]} ", "hmac-sha512") == (
        "key.contoso.com", SECRET, "hmac-sha512")
    assert _kms_srv_record.validate_tsig(None, None, "hmac-sha256") is None


# ------------------------------------------------------------------------------ Windows DNS (WMI) ops


def test_wmi_read_operations() -> None:
    assert _kms_srv_record.wmi_read_operations(ZONE, OWNER) == [
        {"op": "cim_query", "class": "MicrosoftDNS_Zone", "namespace": "root/MicrosoftDNS",
         "filter": "Name = 'contoso.com'", "properties": ["Name"]},
        {"op": "cim_query", "class": "MicrosoftDNS_SRVType", "namespace": "root/MicrosoftDNS",
         "filter": "ContainerName = 'contoso.com' AND OwnerName = '_vlmcs._tcp.contoso.com'",
         "properties": ["ContainerName", "OwnerName", "TTL", "Priority", "Weight", "Port", "SRVDomainName"]},
        {"op": "cim_query", "class": "MicrosoftDNS_Server", "namespace": "root/MicrosoftDNS", "properties": ["Name"]},
    ]


@pytest.mark.parametrize(("server_rows", "expected"), [
    ([{"Name": "dc01.contoso.com"}], "dc01.contoso.com"), ([{"Name": "."}], None), ([], None)])
def test_parse_wmi_state_reads_the_servers_own_name(server_rows: list[dict[str, t.Any]], expected: str | None) -> None:
    results = [{"ok": True, "instances": [{"Name": ZONE}]}, {"ok": True, "instances": []},
               {"ok": True, "instances": server_rows}]
    assert _kms_srv_record.parse_wmi_state(results).server_name == expected


def test_wql_string_escapes_quotes_and_backslashes() -> None:
    assert _kms_srv_record.wql_string("a'b\\c") == "'a\\'b\\\\c'"


@pytest.mark.parametrize("raw_target", ["KMS1.contoso.com.", "kms1.contoso.com"])
def test_parse_wmi_state_normalizes_and_keeps_the_raw_values(raw_target: str) -> None:
    inst = {"ContainerName": ZONE, "OwnerName": OWNER, "TTL": 600, "Priority": 1, "Weight": 2, "Port": 1689,
            "SRVDomainName": raw_target}
    state = _kms_srv_record.parse_wmi_state([{"ok": True, "instances": [{"Name": ZONE}]}, {"ok": True, "instances": [inst]}])
    assert state.zone_found is True
    assert state.records == (rec("kms1.contoso.com", port=1689, priority=1, weight=2, ttl=600),)
    assert state.records[0].raw == inst


def test_wmi_plan_operations_in_order_with_exact_filters() -> None:
    d = want([{"target": "kms1.contoso.com", "port": 1689}, {"target": "kms2.contoso.com"}], exclusive=True)
    raw = {"OwnerName": OWNER, "SRVDomainName": "KMS1.contoso.com."}
    current = [
        _kms_srv_record.SrvRecord("kms1.contoso.com", 1688, 0, 0, 3600, raw=raw),
        _kms_srv_record.SrvRecord("old.contoso.com", 1688, 0, 0, 3600, raw={"OwnerName": OWNER, "SRVDomainName": "old.contoso.com."}),
    ]
    plan = _kms_srv_record.plan_srv(d, current, rrset_ttl=False)
    ops = _kms_srv_record.wmi_plan_operations(d, plan, ".")
    assert [op for op, _unused in ops] == [
        {"op": "cim_invoke", "class": "MicrosoftDNS_SRVType", "method": "CreateInstanceFromPropertyData",
         "namespace": "root/MicrosoftDNS", "static": True,
         "arguments": {"DnsServerName": ".", "ContainerName": ZONE, "OwnerName": OWNER, "TTL": 3600,
                       "Priority": 0, "Weight": 0, "Port": 1688, "SRVDomainName": "kms2.contoso.com."}},
        {"op": "cim_invoke", "class": "MicrosoftDNS_SRVType", "method": "Modify", "namespace": "root/MicrosoftDNS",
         "filter": "ContainerName = 'contoso.com' AND OwnerName = '_vlmcs._tcp.contoso.com' AND "
                   "SRVDomainName = 'KMS1.contoso.com.' AND Port = 1688 AND Priority = 0 AND Weight = 0",
         "arguments": {"TTL": 3600, "Priority": 0, "Weight": 0, "Port": 1689}},
        {"op": "cim_delete", "class": "MicrosoftDNS_SRVType", "namespace": "root/MicrosoftDNS",
         "filter": "ContainerName = 'contoso.com' AND OwnerName = '_vlmcs._tcp.contoso.com' AND "
                   "SRVDomainName = 'old.contoso.com.' AND Port = 1688 AND Priority = 0 AND Weight = 0"},
    ]
    assert [desc for _unused, desc in ops] == [
        "add SRV record '0 0 1688 kms2.contoso.com' (TTL 3600) at '_vlmcs._tcp.contoso.com'",
        "change SRV record '0 0 1688 kms1.contoso.com' (TTL 3600) to '0 0 1689 kms1.contoso.com' (TTL 3600) at "
        "'_vlmcs._tcp.contoso.com'",
        "remove SRV record '0 0 1688 old.contoso.com' at '_vlmcs._tcp.contoso.com'",
    ]


# ------------------------------------------------------------------------------- RFC 2136 message


def _sections(message: t.Any) -> tuple[list[str], list[str]]:
    pre = [line for rrset in message.prerequisite for line in rrset.to_text().splitlines()]
    upd = [line for rrset in message.update for line in rrset.to_text().splitlines()]
    return sorted(pre), upd


def test_update_message_with_value_dependent_prerequisite_deletes_before_adds() -> None:
    plan = _kms_srv_record.plan_srv(
        want([{"target": "kms1.contoso.com", "priority": 10}, {"target": "kms2.contoso.com"}], exclusive=True),
        [rec("kms1.contoso.com"), rec("old.contoso.com")], rrset_ttl=True,
    )
    msg = _dns.build_update(ZONE, OWNER, plan)
    assert msg.zone[0].to_text() == "contoso.com. IN SOA"
    pre, upd = _sections(msg)
    assert pre == [
        "_vlmcs._tcp.contoso.com. 0 IN SRV 0 0 1688 kms1.contoso.com.",
        "_vlmcs._tcp.contoso.com. 0 IN SRV 0 0 1688 old.contoso.com.",
    ]
    assert upd == [
        "_vlmcs._tcp.contoso.com. 0 NONE SRV 0 0 1688 old.contoso.com.",
        "_vlmcs._tcp.contoso.com. 0 NONE SRV 0 0 1688 kms1.contoso.com.",
        "_vlmcs._tcp.contoso.com. 3600 IN SRV 10 0 1688 kms1.contoso.com.",
        "_vlmcs._tcp.contoso.com. 3600 IN SRV 0 0 1688 kms2.contoso.com.",
    ]


def test_update_message_on_an_empty_name_requires_the_rrset_to_be_absent() -> None:
    plan = _kms_srv_record.plan_srv(want([{"target": "kms1.contoso.com"}]), [], rrset_ttl=True)
    msg = _dns.build_update(ZONE, OWNER, plan)
    assert [(r.to_text(), r.rdclass, r.rdtype) for r in msg.prerequisite] == [
        ("_vlmcs._tcp.contoso.com. NONE SRV", dns.rdataclass.NONE, dns.rdatatype.SRV)]
    assert _sections(msg)[1] == ["_vlmcs._tcp.contoso.com. 3600 IN SRV 0 0 1688 kms1.contoso.com."]
    assert "prerequisite: _vlmcs._tcp.contoso.com. NONE SRV" in _dns.update_text(msg)


def test_ttl_only_change_is_delete_then_add_of_the_same_rdata() -> None:
    plan = _kms_srv_record.plan_srv(want([{"target": "kms1.contoso.com"}], ttl=60), [rec("kms1.contoso.com")], rrset_ttl=True)
    assert _sections(_dns.build_update(ZONE, OWNER, plan))[1] == [
        "_vlmcs._tcp.contoso.com. 0 NONE SRV 0 0 1688 kms1.contoso.com.",
        "_vlmcs._tcp.contoso.com. 60 IN SRV 0 0 1688 kms1.contoso.com.",
    ]


def test_tsig_key_hides_its_secret() -> None:
    key = _dns.TsigKey("key.contoso.com", SECRET, "hmac-md5")
    assert SECRET not in repr(key)
    assert key.algorithm_name == dns.name.from_text("hmac-md5.sig-alg.reg.int.")
    assert _dns.TsigKey("k", SECRET, "hmac-sha256").algorithm_name.to_text() == "hmac-sha256."


def test_prerequisite_rcodes() -> None:
    assert {dns.rcode.to_text(dns.rcode.Rcode(c)) for c in _dns.PREREQUISITE_RCODES} == {"YXDOMAIN", "YXRRSET", "NXDOMAIN", "NXRRSET"}
