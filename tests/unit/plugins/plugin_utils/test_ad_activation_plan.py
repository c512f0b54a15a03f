"""The activation object planner (plugins/plugin_utils/_ad_activation.py): option checks before
the host is contacted, the host checks after the read, and the operations planned, over read
results in the executor protocol's shape (docs/executor-protocol.md)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _ad_activation as ad

CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"  # synthetic
GVLK = "NPPR9-FWDCX-D2C8J-H872K-2YT43"  # public Windows 10/11 Enterprise GVLK [WSD-KEYS]
CONTAINER = "CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=corp,DC=example,DC=test"
IID = "3" * 63
CID = "1" * 48


def read(*, version: str = "10.0.20348", joined: bool = True, objects: list[dict[str, t.Any]] | None = None,
         iid: dict[str, t.Any] | None = None) -> ad.AdState:
    results: list[dict[str, t.Any]] = [
        {"op": "cim_query", "ok": True,
         "instances": [{"Caption": "Microsoft Windows Server 2022 Standard", "Version": version}]},
        {"op": "cim_query", "ok": True,
         "instances": [{"Domain": "corp.example.test" if joined else "WORKGROUP", "PartOfDomain": joined}]},
        ({"op": "ad_activation_objects", "ok": True, "domain": "corp.example.test", "container": CONTAINER,
          "objects": objects or []} if joined else
         {"op": "ad_activation_objects", "ok": False, "hresult": 0x8007054B, "hresult_hex": "0x8007054B",
          "error": "The specified domain either does not exist or could not be contacted."}),
    ]
    if iid is not None:
        results.append(iid)
    return ad.AdReader(product_key=CSVLK).parse(results)


def obj(name: str = "WS2022", ppk: str = "H4D3N") -> dict[str, t.Any]:
    return {"name": name, "dn": f"CN={name},{CONTAINER}", "sku_id": "{C3F4D37D-06D8-55CC-B2CB-06B854BED223}",
            "pid": "55250-39901-032-486299-03-1033-20348.0000-1582026", "partial_product_key": ppk}


IID_OK = {"op": "ad_installation_id", "ok": True, "installation_id": IID}
IID_REFUSED = {"op": "ad_installation_id", "ok": False, "hresult": 0xC004F050, "hresult_hex": "0xC004F050",
               "error": "The Software Licensing Service reported that the product key is invalid."}


def request(**params: t.Any) -> ad.AoRequest:
    return ad.parse_request({"name": "WS2022", "state": "present", "method": "online", "product_key": CSVLK,
                             "confirmation_id": None, **params})


@pytest.mark.parametrize(("params", "message"), [
    ({"name": " "}, "Failed to manage the activation object: name must not be empty"),
    ({"name": "a;b"}, "Failed to manage the activation object 'a;b': the name contains ';'"),
    ({"name": "x" * 65}, "the name has 65 characters, at most 64 are allowed"),
    ({"product_key": None}, "product_key is required with state=present"),
    ({"product_key": GVLK}, "with the key 'XXXXX-XXXXX-XXXXX-XXXXX-2YT43': it is the public KMS client setup key (GVLK)"),
    ({"product_key": "ABCDE"}, "Failed to create the activation object 'WS2022': "),
    ({"confirmation_id": CID}, "confirmation_id is only used with method=phone"),
    ({"method": "phone", "confirmation_id": "12-34"}, "the confirmation ID must be 48 digits"),
    ({"state": "absent"}, "product_key is not used with state=absent"),
])
def test_options_refused_before_the_host_is_contacted(params: dict[str, t.Any], message: str) -> None:
    with pytest.raises(ad.AdActivationError) as e:
        request(**params)
    assert message in str(e.value)
    assert GVLK not in str(e.value) and CSVLK not in str(e.value)


@pytest.mark.parametrize(("state", "message"), [
    (read(version="6.1.7601", iid=IID_OK), "the host runs Microsoft Windows Server 2022 Standard (version 6.1.7601); "
     "Active Directory-based activation needs Windows 8 / Windows Server 2012 or later"),
    (read(joined=False, iid=IID_OK), "the host is not joined to a domain (workgroup 'WORKGROUP')"),
    (read(iid=IID_REFUSED), "Windows refused the key: 0xC004F050 (SL_E_INVALID_PRODUCT_KEY)"),
    (read(objects=[obj(ppk="QQQQQ")], iid=IID_OK), "an activation object of that name exists, made from the key "
     "'XXXXX-XXXXX-XXXXX-XXXXX-QQQQQ'"),
])
def test_host_refusals(state: ad.AdState, message: str) -> None:
    with pytest.raises(ad.AdActivationError) as e:
        ad.plan_activation_object(request(), state)
    assert message in str(e.value)


def test_online_creates_with_the_key_as_a_secret() -> None:
    ap = ad.plan_activation_object(request(), read(iid=IID_OK))
    assert ap.plan.operations == [{"op": "cim_invoke", "class": "SoftwareLicensingService",
                                   "method": "DoActiveDirectoryOnlineActivation",
                                   "arguments": {"ProductKey": {"secret": "product_keys", "index": 0},
                                                 "ActivationObjectName": "WS2022"}}]
    assert ap.plan.batch.product_keys == [CSVLK]
    assert ap.plan.changes == ["create the activation object 'WS2022' with the KMS host key "
                               "'XXXXX-XXXXX-XXXXX-XXXXX-H4D3N' online"]
    after = {"name": "WS2022", "dn": f"CN=WS2022,{CONTAINER}", "masked_product_key": "XXXXX-XXXXX-XXXXX-XXXXX-H4D3N"}
    assert ap.plan.diff == {"before": {}, "after": after}


@pytest.mark.parametrize("name", ["WS2022", "ws2022"])
def test_existing_object_from_the_same_key_is_left_alone(name: str) -> None:
    ap = ad.plan_activation_object(request(name=name), read(objects=[obj()], iid=IID_OK))
    assert not ap.plan
    assert ad.result(ap, read(objects=[obj()], iid=IID_OK), None)["object"]["csvlk_sku_id"] == \
        "c3f4d37d-06d8-55cc-b2cb-06b854bed223"


def test_phone_first_gives_the_installation_id_then_deposits() -> None:
    first = ad.plan_activation_object(request(method="phone"), read(iid=IID_OK))
    assert not first.plan and first.awaiting_confirmation and first.installation_id == IID
    second = ad.plan_activation_object(request(method="phone", confirmation_id="-".join([CID[:6]] * 8)),
                                       read(iid=IID_OK))
    [op] = second.plan.operations
    assert op["method"] == "DepositActiveDirectoryOfflineActivationConfirmation"
    assert op["arguments"]["ConfirmationID"] == {"secret": "confirmation_ids", "index": 0}
    assert second.plan.batch.confirmation_ids == ["1" * 48]


@pytest.mark.parametrize(("objects", "ops"), [
    ([obj()], [{"op": "ad_activation_object_remove", "dn": f"CN=WS2022,{CONTAINER}"}]),
    ([], []),
])
def test_absent(objects: list[dict[str, t.Any]], ops: list[dict[str, t.Any]]) -> None:
    ap = ad.plan_activation_object(ad.parse_request({"name": "ws2022", "state": "absent"}), read(objects=objects))
    assert ap.plan.operations == ops


def test_reader_asks_for_the_installation_id_only_on_the_first_read() -> None:
    from ansible_collections.winops.volume_activation.plugins.plugin_utils import _client
    reader = ad.AdReader(product_key=CSVLK)
    batch = _client.Batch()
    batch.extend(reader.operations())
    reader.first_read(batch)
    assert [o["op"] for o in batch.operations] == ["cim_query", "cim_query", "ad_activation_objects",
                                                   "ad_installation_id"]
    assert not batch.mutating and batch.product_keys == [CSVLK]
    assert [o["op"] for o in reader.operations()] == ["cim_query", "cim_query", "ad_activation_objects"]
