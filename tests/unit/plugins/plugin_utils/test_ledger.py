"""_ledger: budgets, reservations, settling, reconciliation after a kill, atomic writes and the
lock shared by processes (real files in tmp_path, real fork()ed processes; no host)."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import pathlib
import typing as t

import pytest

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _ledger

MAK = "QXRYB-NB4RK-7V9QF-W8YCF-3V66T"  # synthetic (random product-key characters), not a Microsoft key
OTHER = "JGRF8-NQ4CD-YQPB9-KBV4R-7HMM3"  # synthetic, another key
WIN = "73111121-5638-40f6-bc11-f1d7b0d64300"


def make(tmp_path: pathlib.Path, remaining: int | None = 2, key: str = MAK, kind: str = "mak") -> _ledger.Ledger:
    ledger = _ledger.Ledger(str(tmp_path / "ledger.json"))
    with ledger.transaction() as doc:
        doc.set_budget(key, kind, remaining, None, "2026-12-01T00:00:00Z")
    return ledger


def install(key: str = MAK) -> _ledger.Claim:
    return _ledger.Claim(kind="install", op_index=0, partial_key=key[-5:], description="install the MAK", key=key)


def activate(partial: str = "3V66T", method: str = "online") -> _ledger.Claim:
    return _ledger.Claim(kind="activate", op_index=0, partial_key=partial, description="activate Windows",
                         activation_id=WIN, product="Windows(R), Enterprise edition", method=method)


def view(partial: str | None = "3V66T", activated: bool = False) -> _ledger.ProductView:
    return _ledger.ProductView(activation_id=WIN, partial_key=partial, activated=activated, name="Windows")


def test_file_never_holds_the_key(tmp_path: pathlib.Path) -> None:
    ledger = make(tmp_path)
    ledger.reserve("ws01", [install()])
    text = (tmp_path / "ledger.json").read_text()
    assert MAK not in text and MAK.replace("-", "") not in text
    doc = json.loads(text)
    (kid,) = doc["keys"]
    assert kid.startswith("3V66T:") and len(kid) == 6 + 16
    assert doc["keys"][kid]["hash"] and doc["salt"]
    assert oct(os.stat(tmp_path / "ledger.json").st_mode & 0o777) == "0o600"


def test_same_key_other_salt_other_id(tmp_path: pathlib.Path) -> None:
    a = make(tmp_path / "a").read()
    b = make(tmp_path / "b").read()
    assert a.key_id(MAK) != b.key_id(MAK)
    assert a.key_id(MAK).partition(":")[0] == b.key_id(MAK).partition(":")[0] == "3V66T"


def test_budget_refuses_the_third_host(tmp_path: pathlib.Path) -> None:
    ledger = make(tmp_path, remaining=2)
    ledger.reserve("ws01", [install()])
    ledger.reserve("ws02", [install()])
    with pytest.raises(_ledger.LedgerError) as e:
        ledger.reserve("ws03", [install()])
    msg = str(e.value)
    assert msg.startswith("Failed to install the MAK: the key ledger shows no activation left for the MAK "
                          "'XXXXX-XXXXX-XXXXX-XXXXX-3V66T' (2 left on 2026-12-01T00:00:00Z, 0 used since, "
                          "2 reserved by ws01, ws02); nothing was sent to the host")
    assert "key_budget" in msg
    # a host that holds a reservation passes again (idempotent), a refused one holds nothing
    assert ledger.reserve("ws01", [activate()]) == [ledger.read().key_id(MAK)]
    assert "ws03" not in json.dumps(ledger.read().holds)


@pytest.mark.parametrize(("ok", "used", "reserved", "available"), [(True, 1, 0, 1), (False, 0, 0, 2)])
def test_settle_records_or_releases(tmp_path: pathlib.Path, ok: bool, used: int, reserved: int,
                                    available: int) -> None:
    ledger = make(tmp_path, remaining=2)
    ids = ledger.reserve("ws01", [activate()])
    ledger.settle("ws01", [activate()], ids, [ok], "cmid-1")
    doc = ledger.read()
    b = doc.budget(doc.key_id(MAK))
    assert (b["used"], b["reserved"], b["available"]) == (used, reserved, available)
    assert [a["cmid"] for a in doc.activations] == (["cmid-1"] if ok else [])


def test_same_host_again_consumes_nothing(tmp_path: pathlib.Path) -> None:
    ledger = make(tmp_path, remaining=1)
    for _attempt in range(2):
        ids = ledger.reserve("ws01", [activate()])
        ledger.settle("ws01", [activate()], ids, [True], "cmid-1")
    doc = ledger.read()
    assert doc.budget(doc.key_id(MAK))["used"] == 1
    with pytest.raises(_ledger.LedgerError):
        ledger.reserve("ws02", [install()])


def test_new_remaining_starts_the_count_again(tmp_path: pathlib.Path) -> None:
    ledger = make(tmp_path, remaining=1)
    ids = ledger.reserve("ws01", [activate()])
    ledger.settle("ws01", [activate()], ids, [True], None)
    with ledger.transaction() as doc:
        doc.set_budget(MAK, "mak", 5, None, "2026-12-03T00:00:00Z")
    doc = ledger.read()
    assert doc.budget(doc.key_id(MAK)) | {"hosts": None} == {
        "remaining": 5, "as_of": "2026-12-03T00:00:00Z", "used": 0, "reserved": 0, "available": 5,
        "hosts": None, "reserved_by": []}


def test_unbudgeted_key_is_recorded_never_refused(tmp_path: pathlib.Path) -> None:
    ledger = make(tmp_path, remaining=None)
    for host in ("a", "b", "c"):
        ids = ledger.reserve(host, [activate()])
        ledger.settle(host, [activate()], ids, [True], None)
    doc = ledger.read()
    assert doc.budget(doc.key_id(MAK))["available"] is None
    assert [a["host"] for a in doc.activations] == ["a", "b", "c"]


def test_unknown_key_is_neither_held_nor_refused(tmp_path: pathlib.Path) -> None:
    ledger = make(tmp_path, remaining=0)
    assert ledger.reserve("ws01", [install(OTHER)]) == [None]
    assert ledger.read().holds == {}


def test_ambiguous_partial_key_is_refused(tmp_path: pathlib.Path) -> None:
    twin = OTHER[:-5] + "3V66T"
    ledger = make(tmp_path, remaining=3)
    with ledger.transaction() as doc:
        doc.set_budget(twin, "mak", 3, None, "2026-12-01T00:00:00Z")
    with pytest.raises(_ledger.LedgerError, match="holds 2 keys ending in these five characters"):
        ledger.reserve("ws01", [activate()])
    ledger.reserve("ws01", [install(twin)])  # the install ties the host to one of them
    assert ledger.reserve("ws01", [activate()]) == [ledger.read().key_id(twin)]


@pytest.mark.parametrize(("shown", "activated", "holds", "records"), [
    ("3V66T", True, 0, 1),    # activated before the kill: recorded once
    ("3V66T", False, 1, 0),   # installed, never activated: the hold stays
    (None, False, 0, 0),      # the key is gone: released
])
def test_reconcile_after_a_kill(tmp_path: pathlib.Path, shown: str | None, activated: bool, holds: int,
                                records: int) -> None:
    ledger = make(tmp_path)
    ledger.reserve("ws01", [activate()])  # ... and the process was killed here
    ledger.reconcile("ws01", [view(shown, activated)], "cmid-9")
    ledger.reconcile("ws01", [view(shown, activated)], "cmid-9")  # twice: never counted twice
    doc = ledger.read()
    assert sum(len(h) for h in doc.holds.values()) == holds
    assert len(doc.activations) == records


def test_corrupt_ledger_is_reported(tmp_path: pathlib.Path) -> None:
    (tmp_path / "ledger.json").write_text('{"keys": {}}')
    with pytest.raises(_ledger.LedgerError, match="is not a format 1 ledger"):
        _ledger.Ledger(str(tmp_path / "ledger.json")).read()


def test_failed_write_leaves_the_old_file(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = make(tmp_path)
    before = (tmp_path / "ledger.json").read_text()

    def boom(*_a: t.Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        ledger.reserve("ws01", [install()])
    assert (tmp_path / "ledger.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.json", "ledger.json.lock"]


@pytest.mark.parametrize(("task_vars", "exists", "expected"), [
    ({"volume_activation_ledger": "L/x.json"}, False, "L/x.json"),
    ({"inventory_dir": "INV"}, True, f"INV/{_ledger.DEFAULT_NAME}"),
    ({"inventory_dir": "INV"}, False, None),
    ({}, False, None),
])
def test_ledger_path(tmp_path: pathlib.Path, task_vars: dict[str, str], exists: bool, expected: str | None) -> None:
    tv = {k: str(tmp_path / v) for k, v in task_vars.items()}
    (tmp_path / "INV").mkdir()
    if exists:
        (tmp_path / "INV" / _ledger.DEFAULT_NAME).write_text("{}")
    assert _ledger.ledger_path(tv) == (str(tmp_path / expected) if expected else None)


def _contend(path: str, host: str, out: t.Any) -> None:
    ledger = _ledger.Ledger(path)
    try:
        ids = ledger.reserve(host, [activate()])
        ledger.settle(host, [activate()], ids, [True], None)
        out.put((host, "ok"))
    except _ledger.LedgerError:
        out.put((host, "refused"))


def test_twenty_processes_never_exceed_the_budget(tmp_path: pathlib.Path) -> None:
    """20 forked processes (as 20 ansible forks) race for a budget of 7."""
    ledger = make(tmp_path, remaining=7)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(ledger.path, f"h{i:02d}", out)) for i in range(20)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = [out.get(timeout=5) for _proc in procs]
    assert sum(1 for _h, o in outcomes if o == "ok") == 7
    doc = ledger.read()
    assert len(doc.activations) == 7 and doc.holds == {}
    assert doc.budget(doc.key_id(MAK))["available"] == 0


def test_temporary_file_of_a_killed_writer_is_cleared(tmp_path: pathlib.Path) -> None:
    ledger = make(tmp_path)
    (tmp_path / ".ledger.json.abc123.tmp").write_text("{half a")
    ledger.reserve("ws01", [install()])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.json", "ledger.json.lock"]


def test_cid_store_keeps_pairs_of_successful_deposits_only(tmp_path: pathlib.Path) -> None:
    ledger = make(tmp_path)
    iid, cid = "1" * 63, "2" * 48
    deposit = _ledger.Claim(kind="activate", op_index=0, partial_key="3V66T", description="deposit",
                            activation_id=WIN, method="phone", installation_id=iid, confirmation_id=cid)
    failed = dataclasses.replace(deposit, installation_id="9" * 63, confirmation_id="8" * 48)
    ids = ledger.reserve("ws01", [deposit, failed])
    ledger.settle("ws01", [deposit, failed], ids, [True, False], None)
    assert ledger.stored_cids([iid, "9" * 63, "5" * 63]) == {iid: cid}
    assert cid not in repr(deposit)
    assert oct(os.stat(tmp_path / "ledger.json").st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(("host_edition", "refused"), [("Professional", True), ("enterprise", False), (None, False)])
def test_edition_recorded_for_the_key(tmp_path: pathlib.Path, host_edition: str | None, refused: bool) -> None:
    ledger = _ledger.Ledger(str(tmp_path / "ledger.json"))
    with ledger.transaction() as doc:
        doc.set_budget(MAK, "mak", 5, None, "2026-12-01T00:00:00Z", edition="Enterprise")
    claim = dataclasses.replace(install(), edition=host_edition)
    if refused:
        with pytest.raises(_ledger.LedgerError, match="records this key as one for the Enterprise edition, and this "
                                                      "host runs the Professional edition"):
            ledger.reserve("ws01", [claim])
    else:
        assert ledger.reserve("ws01", [claim]) == [ledger.read().key_id(MAK)]
