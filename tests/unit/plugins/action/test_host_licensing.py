"""host_licensing: the shared read (CompositeReader), the merged batch (merge_plans), validation
before any host contact (validate_only and refusals) and the one-round-trip no-op on a recorded
KMS host read. The lab-backed round trips (1 converged, 2 or 3 from scratch) are in
tests/integration/test_host_licensing.py."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.action.host_licensing import ActionModule
from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _client,
    _hostplan,
    _kms_host,
)
from ansible_collections.winops.volume_activation.tests.unit.plugins.conftest import load_data, make_action

GVLK_W11_ENT = "NPPR9-FWDCX-D2C8J-H872K-2YT43"  # Microsoft's published GVLK (KMS client setup key)
GVLK_O2021 = "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH"


class _Reader:
    def __init__(self, ops: list[dict[str, t.Any]]) -> None:
        self.ops = ops

    def operations(self) -> list[dict[str, t.Any]]:
        return [dict(o) for o in self.ops]

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> list[t.Any]:
        if any(r.get("boom") for r in results):
            raise _action.LicensingActionError("Failed to read the firewall rule 'x': gone")
        return [r["tag"] for r in results]


Q = {"op": "cim_query", "class": "SoftwareLicensingService"}
P = {"op": "cim_query", "class": "SoftwareLicensingProduct", "filter": "PartialProductKey <> null"}
F = {"op": "firewall_get", "name": "SPPSVC-In-TCP"}


@pytest.mark.parametrize(("readers", "sent", "parsed"), [
    ([[Q, P], [P, Q]], [Q, P], [["q", "p"], ["p", "q"]]),
    ([[Q], [F], [Q, F]], [Q, F], [["q"], ["f"], ["q", "f"]]),
    ([[Q, P, F]], [Q, P, F], [["q", "p", "f"]]),
])
def test_composite_reader_sends_each_operation_once(readers: list[list[dict[str, t.Any]]],
                                                    sent: list[dict[str, t.Any]], parsed: list[t.Any]) -> None:
    comp = _hostplan.CompositeReader([_Reader(r) for r in readers])
    assert comp.operations() == sent
    tags = {"SoftwareLicensingService": "q", "SoftwareLicensingProduct": "p", None: "f"}
    results = [{"ok": True, "tag": tags[op.get("class")]} for op in sent]
    assert comp.parse(results) == parsed


def test_composite_reader_keeps_a_failed_parse_to_its_reader() -> None:
    comp = _hostplan.CompositeReader([_Reader([Q]), _Reader([F])])
    out = comp.parse([{"ok": True, "tag": "q"}, {"ok": False, "boom": True}])
    assert out[0] == ["q"] and isinstance(out[1], _action.LicensingActionError)
    with pytest.raises(ValueError, match="expected 2 results"):
        comp.parse([{"ok": True}])


def _key_plan(key: str, stop: bool) -> _action.Plan:
    plan = _action.Plan(stop_on_error=stop)
    plan.add(_client.cim_invoke("SoftwareLicensingService", "InstallProductKey",
                                arguments={"ProductKey": plan.batch.product_key(key)}), f"install {key}")
    plan.add(_client.cim_invoke("SoftwareLicensingService", "RefreshLicenseStatus"), "refresh")
    return plan


def test_merge_of_one_plan_is_that_plan() -> None:
    plan = _key_plan(GVLK_W11_ENT, stop=False)
    batch, offsets, stop = _hostplan.merge_plans([plan])
    assert batch.operations == plan.operations and offsets == [0] and stop is False
    assert batch.product_keys == [GVLK_W11_ENT]


def test_merge_moves_secrets_and_marks_each_plan() -> None:
    first, second = _key_plan(GVLK_W11_ENT, stop=False), _key_plan(GVLK_O2021, stop=True)
    batch, offsets, stop = _hostplan.merge_plans([first, second])
    assert offsets == [0, 2] and stop is False
    assert batch.product_keys == [GVLK_W11_ENT, GVLK_O2021]
    args = [op.get("arguments", {}).get("ProductKey") for op in batch.operations]
    assert args == [{"secret": "product_keys", "index": 0}, None, {"secret": "product_keys", "index": 1}, None]
    # the first operation of each plan; every operation of a plan planned with stop_on_error true
    assert [op.get("skip_after_failure", False) for op in batch.operations] == [True, False, True, True]
    assert "skip_after_failure" not in first.operations[0]  # the parts' plans are not modified


def run(args: dict[str, t.Any], responses: list[t.Any], check_mode: bool = False) -> tuple[dict[str, t.Any], t.Any]:
    plugin, fake = make_action(ActionModule, args, responses, check_mode=check_mode,
                               action="winops.volume_activation.host_licensing")
    return plugin.run(task_vars={}), fake


def test_validate_only_contacts_nothing() -> None:
    result, fake = run({"product_keys": [{"gvlk": "auto", "product": "all"}],
                        "kms_client": [{"product": "windows", "kms_host": "kms01.example.test:1689"}],
                        "kms_firewall": {"remote_addresses": ["10.0.0.0/8"]},
                        "activation": {"product": "all"}, "validate_only": True}, [])
    assert fake.calls == []
    assert result["validated"] == ["product_keys[0]", "kms_firewall", "kms_client[0]", "activation"]
    assert result["changed"] is False and not result.get("failed") and result["round_trips"] == 0


@pytest.mark.parametrize(("args", "fragments"), [
    ({"product_keys": [{"key": "ABCDE-12345", "product": "windows"}]},
     ["product_keys[0]: Failed to install the product key: ", "not five groups"]),
    ({"kms_client": [{"product": "windows", "kms_host": "bad host name"}]},
     ["kms_client[0]: Failed to configure the KMS client: ", "bad host name"]),
    ({"kms_host": {"port": 70000}}, ["kms_host: Failed to configure the KMS host: ", "70000"]),
    ({"kms_firewall": {"remote_addresses": []}}, ["kms_firewall: Failed to configure the KMS firewall rule: "]),
    ({"kms_host": {"port": 0}, "kms_client": [{"product": "windows", "kms_port": 99999, "kms_host": "a.example"}]},
     ["kms_host: ", "; kms_client[0]: "]),
])
@pytest.mark.parametrize("validate_only", [True, False])
def test_bad_options_are_refused_before_any_host_contact(
        args: dict[str, t.Any], fragments: list[str], validate_only: bool) -> None:
    result, fake = run({**args, "validate_only": validate_only}, [])
    assert fake.calls == [] and result["failed"] is True and result["changed"] is False
    for f in fragments:
        assert f in result["msg"]


def test_product_keys_never_appear_in_a_refusal() -> None:
    result, _fake = run({"product_keys": [{"key": GVLK_W11_ENT, "key_type": "mak", "product": "windows"}]}, [])
    assert result["failed"] is True and GVLK_W11_ENT not in str(result)


def test_firewall_takes_the_kms_host_port() -> None:
    runs = _hostplan.build_parts({"kms_host": {"port": 1689}, "kms_firewall": {"remote_addresses": ["LocalSubnet"]}},
                                 lambda sub: t.cast(_action.ActionContext, None), lambda m: None)
    assert [r.label for r in runs] == ["kms_host", "kms_firewall"]
    assert runs[1].part.params["port"] == 1689


def test_nothing_to_do_on_a_kms_host_is_one_round_trip() -> None:
    """The recorded no-op of kms_host, answered to the shared read: one round trip, the
    kms_host part's result as kms_host returns it, and license_info from the same read."""
    data = load_data("kms", "host_noop.json")
    recorded = data["round_trips"][0]
    ops_seen: list[list[dict[str, t.Any]]] = []

    def answer(module_args: dict[str, t.Any]) -> dict[str, t.Any]:
        ops = module_args["operations"]
        ops_seen.append(ops)
        # The KMS host read's operations are answered from the recording; the others as empty reads.
        host_ops = _kms_host.KmsHostReader().operations()
        results = []
        for op in ops:
            if op in host_ops:
                results.append(recorded["results"][host_ops.index(op)])
            else:
                results.append({"op": op["op"], "ok": True, "instances": []})
        return {"changed": False, "results": results}

    result, fake = run({"kms_host": data["args"]}, [answer])
    assert len(fake.calls) == 1 and result["round_trips"] == 1
    assert result["changed"] is False and not result.get("failed")
    assert result["kms_host"]["changed"] is False and result["kms_host"]["changed_settings"] == []
    assert result["license_info"]["service"] is not None
    assert all(op["op"] in _client.READ_OPS for op in ops_seen[0])
    assert len(ops_seen[0]) == len({str(sorted(o.items())) for o in ops_seen[0]})  # each operation once
