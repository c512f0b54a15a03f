"""Filters mask_product_key, explain_hresult, gvlk and pending_hosts: values, errors, and docs that match the code."""

from __future__ import annotations

import pathlib
import re
import typing as t

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.winops.volume_activation.plugins.filter import licensing

FILTER_DIR = pathlib.Path(licensing.__file__).parent


def test_filters_are_registered() -> None:
    assert sorted(licensing.FilterModule().filters()) == ["explain_hresult", "gvlk", "mask_product_key", "pending_hosts"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("W269N-WFGWX-YVC9B-4J6C9-T83GX", "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"), ("t83gx", "XXXXX-XXXXX-XXXXX-XXXXX-T83GX"),
     ("secret", "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX"), (None, None)],
)
def test_mask_product_key(value: str | None, expected: str | None) -> None:
    assert licensing.mask_product_key(value) == expected


def test_explain_hresult() -> None:
    assert licensing.explain_hresult("0xC004F074") == \
        "0xC004F074 (SL_E_VL_BINDING_SERVICE_UNAVAILABLE): no KMS host could be contacted"
    d = licensing.explain_hresult(-1073418184, output="dict")
    assert (d["hex"], d["symbol"]) == ("0xC004F038", "SL_E_VL_NOT_ENOUGH_COUNT") and d["remedy"]


@pytest.mark.parametrize(("value", "output", "match"), [("zz", "message", "not an HRESULT"),
                                                        (0xC004F074, "text", "output must be")])
def test_explain_hresult_errors(value: object, output: str, match: str) -> None:
    with pytest.raises(AnsibleFilterError, match=match):
        licensing.explain_hresult(value, output=output)


def test_gvlk() -> None:
    assert licensing.gvlk("Windows Server 2022 Standard") == "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"
    assert licensing.gvlk("Windows 10 Enterprise") == "NPPR9-FWDCX-D2C8J-H872K-2YT43"
    with pytest.raises(AnsibleFilterError, match="no public KMS client setup key is known for 'Windows 2022'"):
        licensing.gvlk("Windows 2022")


@pytest.mark.parametrize("name", ["mask_product_key", "explain_hresult", "gvlk"])
def test_docs(name: str) -> None:
    doc = yaml.safe_load(FILTER_DIR.joinpath(f"{name}.yml").read_text(encoding="utf-8"))
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["DOCUMENTATION"]["version_added"] == "0.1.0"
    assert doc["RETURN"]["_value"]["sample"]
    assert f"winops.volume_activation.{name}" in doc["EXAMPLES"]
    options = doc["DOCUMENTATION"]["options"]
    assert "_input" in options
    if name == "explain_hresult":
        assert options["output"]["choices"] == ["message", "dict"] and options["output"]["default"] == "message"


def _result(*outcomes: str, info: bool = True, failed: bool = False) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {"activation": {"summary": {o: 1 for o in outcomes}}}
    if info:
        out["license_info"] = {"products": []}
    if failed:
        out["failed"] = True
    return {"volume_activation_host_result": out}


HOSTVARS = {
    "done": _result("already_activated"),
    "fresh": _result("activated", "already_activated"),
    "waits": _result("activated", "waiting_for_threshold"),
    "broke": _result("failed"),
    "none": {},
    "failed": _result("already_activated", failed=True),
    "kms": _result("already_activated"),
}


def test_pending_hosts_picks_what_is_not_activated_in_order() -> None:
    hosts = ["none", "waits", "done", "broke", "fresh"]
    assert licensing.pending_hosts(HOSTVARS, hosts) == ["waits", "broke"]
    assert licensing.pending_hosts(HOSTVARS, hosts, unknown=True) == ["none", "waits", "broke"]
    assert licensing.pending_hosts(HOSTVARS, hosts, pending="false", unknown="yes") == ["none"]
    assert licensing.pending_hosts(HOSTVARS, ["failed", "done"], pending=False, unknown=True) == ["failed"]


def test_pending_hosts_adds_the_kms_hosts_only_after_an_activation() -> None:
    # "fresh" activated a product in this run: the KMS host's count moved after it returned its state.
    assert licensing.pending_hosts(HOSTVARS, ["done", "fresh"], pending=False, counted=["kms"]) == ["kms"]
    # a converged run activated nothing: the KMS host's state is reused
    assert licensing.pending_hosts(HOSTVARS, ["done", "kms"], pending=False, counted=["kms"]) == []
    assert licensing.pending_hosts(HOSTVARS, ["waits"], counted=["waits"]) == ["waits"]


@pytest.mark.parametrize(("hosts", "counted", "fragment"), [
    ("done", None, "hosts must be a list"),
    (["done"], "kms", "counted must be a list"),
    (["nowhere"], None, "host 'nowhere' is not in the inventory"),
])
def test_pending_hosts_refuses_bad_input(hosts: t.Any, counted: t.Any, fragment: str) -> None:
    with pytest.raises(AnsibleFilterError, match=fragment):
        licensing.pending_hosts(HOSTVARS, hosts, counted=counted)


def test_the_roles_name_the_same_activated_outcomes_as_the_filter() -> None:
    """The roles' meta end_role conditions list the activated outcomes in Jinja (evaluated on the
    controller for every host, so without a filter call); they must be the filter's."""
    from ansible_collections.winops.volume_activation.plugins.plugin_utils import _activation

    roles = FILTER_DIR.parents[1] / "roles"
    texts = [(roles / "kms_activation" / "vars" / "main.yml").read_text(encoding="utf-8"),
             (roles / "activation_report" / "vars" / "main.yml").read_text(encoding="utf-8")]
    for text in texts:
        found = re.findall(r"difference\(\[([^\]]*)\]\)", text)
        assert found, text
        for listed in found:
            assert {x.strip().strip("'\"") for x in listed.split(",")} == _activation.ACTIVATED_OUTCOMES
