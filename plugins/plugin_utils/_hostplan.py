# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A host's whole licensing state from one read, applied in one batch (host_licensing).

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

host_licensing runs the parts of :mod:`_parts` (the planners and results of product_key,
kms_client, kms_host, kms_firewall and activation) together:

1. every part validates its options; a refusal fails the task before the host is contacted
   (``validate_only`` stops here, on the controller);
2. ONE read: the union of the parts' read batches plus license_info's, each operation sent
   once (:class:`CompositeReader`) -- round trip 1;
3. stage 1, the product keys, planned on that read; when they change something, they are
   sent in one batch with the whole read appended -- round trip 2;
4. stage 2, the KMS host settings, the firewall rule, the KMS client settings and the
   activation, planned on the latest read (activation and the KMS host settings need the
   keys of stage 1 installed: the product a key lands on is known from the read-back only)
   and sent in one batch with the read appended -- one more round trip.

So a host with nothing to do costs 1 round trip, a change of keys only or of settings and
activation only costs 2, and a host set up from scratch (keys, then settings and activation)
costs 3. The plans of a stage go in one batch in the order above; each plan's first operation
(every operation of a plan planned with ``stop_on_error`` true) carries the executor's
``skip_after_failure``, so a failed part stops the parts after it, as a failed task stops a
role, while a part planned with ``stop_on_error`` false still tries all of its operations.
A batch of one plan is sent exactly as its fine-grained module sends it.

Each part's result is built by the part itself (:meth:`_parts.Part.result`) from its own
slice of the batch results and its own parse of the read, then completed with ``changed``,
``changes``, ``diff``, ``failed`` and ``msg`` exactly as :meth:`_action.LicensingAction._va_run`
does: the part's result in host_licensing is the fine-grained module's result.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from . import _action, _client, _keys, _ledger, _parts

#: The options of host_licensing that are parts: (option, part class, a list of requests?, stage).
PARTS: tuple[tuple[str, type[_parts.Part], bool, int], ...] = (
    ("product_keys", _parts.ProductKeyPart, True, 1),
    ("kms_host", _parts.KmsHostPart, False, 2),
    ("kms_firewall", _parts.KmsFirewallPart, False, 2),
    ("kms_client", _parts.KmsClientPart, True, 2),
    ("activation", _parts.ActivationPart, False, 2),
)


class CompositeReader:
    """Several readers in one batch: each distinct operation is sent once, and each reader
    parses the results of its own operations, in its own order (``_action.StateReader``).

    :meth:`parse` returns one parsed state per reader; a reader whose parse raised
    :class:`_action.LicensingActionError` gets the exception in its place (its part fails,
    the others go on).
    """

    def __init__(self, readers: t.Sequence[_action.StateReader]) -> None:
        self.readers = list(readers)
        self._ops: list[dict[str, t.Any]] = []
        self._maps: list[list[int]] = []
        seen: dict[str, int] = {}
        for reader in self.readers:
            positions = []
            for op in reader.operations():
                key = json.dumps(op, sort_keys=True)
                if key not in seen:
                    seen[key] = len(self._ops)
                    self._ops.append(dict(op))
                positions.append(seen[key])
            self._maps.append(positions)

    def operations(self) -> list[dict[str, t.Any]]:
        return [dict(op) for op in self._ops]

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> list[t.Any]:
        if len(results) < len(self._ops):
            raise ValueError(f"expected {len(self._ops)} results for the host read, got {len(results)}")
        parsed: list[t.Any] = []
        for reader, positions in zip(self.readers, self._maps, strict=True):
            try:
                parsed.append(reader.parse([results[i] for i in positions]))
            except _action.LicensingActionError as e:
                parsed.append(e)
        return parsed


def _remap(value: t.Any, source: _client.Batch, target: _client.Batch) -> t.Any:
    """``value`` with its secret references moved from ``source``'s secrets to ``target``'s."""
    if isinstance(value, dict):
        if set(value) == {"secret", "index"}:
            if value["secret"] == "product_keys":
                return target.product_key(source.product_keys[value["index"]])
            return target.confirmation_id(source.confirmation_ids[value["index"]])
        return {k: _remap(v, source, target) for k, v in value.items()}
    if isinstance(value, list):
        return [_remap(v, source, target) for v in value]
    return value


def merge_plans(plans: t.Sequence[_action.Plan]) -> tuple[_client.Batch, list[int], bool]:
    """One batch for several plans: ``(batch, offset of each plan's first operation, stop_on_error)``.

    One plan is sent as it is (its own ``stop_on_error``). Several are sent with
    ``stop_on_error`` false and ``skip_after_failure`` on each plan's first operation (on every
    operation of a plan planned with ``stop_on_error`` true): a failure stops the plans after it.
    """
    batch = _client.Batch()
    offsets: list[int] = []
    single = len(plans) == 1
    for plan in plans:
        offsets.append(len(batch.operations))
        for j, op in enumerate(plan.operations):
            new = _remap(dict(op), plan.batch, batch)
            if not single and (j == 0 or plan.stop_on_error):
                new["skip_after_failure"] = True
            batch.add(new)
    return batch, offsets, plans[0].stop_on_error if single else False


@dataclasses.dataclass
class PartRun:
    """One part of the task: its label (``kms_client[1]``), the part and what happened to it."""

    option: str
    label: str
    stage: int
    part: _parts.Part
    ctx: _action.ActionContext
    before: t.Any = None
    after: t.Any = None
    plan: _action.Plan | None = None
    result: dict[str, t.Any] | None = None

    @property
    def failed(self) -> bool:
        return bool(self.result and self.result.get("failed"))


def build_parts(params: t.Mapping[str, t.Any], make_ctx: t.Callable[[dict[str, t.Any]], _action.ActionContext],
                warn: _parts.Warn) -> list[PartRun]:
    """The parts the options ask for, in stage order. A kms_firewall without ``port`` opens the
    port kms_host sets, when kms_host sets one (the firewall reads the port before kms_host
    changes it)."""
    runs: list[PartRun] = []
    for option, cls, many, stage in PARTS:
        value = params.get(option)
        if value is None:
            continue
        items = list(value) if many else [value]
        for i, item in enumerate(items):
            sub = dict(item)
            if option == "kms_firewall" and sub.get("port") is None and (params.get("kms_host") or {}).get("port"):
                sub["port"] = params["kms_host"]["port"]
            label = f"{option}[{i}]" if many else option
            runs.append(PartRun(option, label, stage, cls(sub, warn), make_ctx(sub)))
    return runs


def validate(runs: t.Sequence[PartRun]) -> None:
    """Every part's options, without contacting the host; one :class:`_action.PlanningError`
    naming every refused part."""
    problems: list[str] = []
    for run in runs:
        try:
            run.part.validate()
        except _action.PlanningError as e:
            problems.append(f"{run.label}: {run.part.refusal_prefix()}{e}")
        except _keys.ProductKeyError as e:
            problems.append(f"{run.label}: Failed to validate the product key: {e}")
    if problems:
        raise _action.PlanningError("; ".join(problems))


def _did(r: _client.OpResult) -> bool:
    """Whether a mutating operation really changed something, as the executor counts its
    ``changed`` (docs/executor-protocol.md): a succeeded invocation, a deletion, a removal of
    something that existed, or any other mutating operation that succeeded."""
    raw = r.raw
    if "invocations" in raw:
        return any(i.get("hresult") is None for i in raw.get("invocations") or [])
    if "deleted" in raw:
        return int(raw.get("deleted") or 0) > 0
    if "existed" in raw:
        return r.ok and bool(raw.get("existed"))
    return r.ok


def _finish(run: PartRun, applied: bool) -> None:
    """The part's result as its fine-grained module returns it (see ``LicensingAction._va_run``)."""
    plan = run.plan or _action.Plan()
    ctx = run.ctx
    out: dict[str, t.Any] = {"changed": False}
    if plan:
        out["changes"] = plan.changes
        if ctx.check_mode:
            out["changed"] = True
        elif ctx.applied is not None:
            out["changed"] = any(_did(x) for x in ctx.applied if plan.operations[x.index]["op"] not in _client.READ_OPS)
    out.update(run.part.result(ctx, run.before, run.after if applied else None, plan))
    if ctx.diff and plan.diff is not None:
        out["diff"] = plan.diff
    if ctx.apply_failure:
        out.update(failed=True, msg=ctx.apply_failure)
    run.result = out


class HostRun:
    """Runs the parts of one host_licensing task (see the module docstring)."""

    def __init__(self, runs: list[PartRun], client: _client.LicensingClient, check_mode: bool,
                 ctx: _action.ActionContext | None = None) -> None:
        self.runs = runs
        #: The task's own context, for the key ledger (None: no ledger, as in unit tests of the parts).
        self.ctx = ctx
        self.client = client
        self.check_mode = check_mode
        self.info_reader = _action.LicensingStateReader()
        self.reader = CompositeReader([r.part.reader() for r in runs] + [self.info_reader])
        self.info_state: t.Any = None

    def _read(self, states: t.Sequence[t.Any]) -> None:
        for run, state in zip(self.runs, states, strict=False):
            run.before = state
        self.info_state = states[-1]

    def run(self) -> None:
        read = _client.Batch()
        read.extend(self.reader.operations())
        self._read(self.reader.parse(self.client.run(read, stop_on_error=False).raw()))
        stopped_by: str | None = None
        for stage in (1, 2):
            runs = [r for r in self.runs if r.stage == stage]
            if stopped_by is not None:
                for r in runs:
                    r.result = {"changed": False, "skipped": True,
                                "msg": f"Not run: {stopped_by} failed first, so nothing after it was planned"}
                continue
            if not runs:
                continue
            self._stage(runs)
            failed = [r.label for r in runs if r.failed]
            if failed:
                stopped_by = failed[0]

    def _stage(self, runs: list[PartRun]) -> None:
        # Plan every part of the stage on the latest read; a refusal sends nothing of the stage.
        for r in runs:
            if isinstance(r.before, _action.LicensingActionError):
                r.result = {"changed": False, "failed": True, "msg": str(r.before), **r.before.extra}
                continue
            try:
                r.plan = r.part.plan(r.ctx, r.before)
            except _action.PlanningError as e:
                r.result = {"changed": False, "failed": True, "msg": r.part.refusal_prefix() + str(e)}
            except _action.LicensingActionError as e:
                r.result = {"changed": False, "failed": True, "msg": str(e), **e.extra}
            except _keys.ProductKeyError as e:
                r.result = {"changed": False, "failed": True, "msg": f"Failed to validate the product key: {e}"}
        refused = [r for r in runs if r.result is not None]
        if refused:
            for r in runs:
                if r.result is None:
                    r.result = {"changed": False, "skipped": True,
                                "msg": f"Not run: {refused[0].label} was refused, so nothing of its stage was sent"}
            return
        todo = [r for r in runs if r.plan]
        plans = [t.cast(_action.Plan, r.plan) for r in todo]
        if not todo or self.check_mode:
            # The key ledger refuses in check mode too what the budget would refuse.
            self._ledger_reserve([c for p in plans for c in p.claims])
            for r in runs:
                _finish(r, applied=False)
            return
        batch, offsets, stop = merge_plans(plans)
        # The parts' key ledger claims, moved to their place in the one batch; reserved (or
        # refused, LedgerError) before anything of the stage is sent, settled from its results.
        claims = [c.shifted(offset) for p, offset in zip(plans, offsets, strict=True) for c in p.claims]
        ledger, claim_ids = self._ledger_reserve(claims)
        back = batch.extend(self.reader.operations())
        applied = self.client.run(batch, stop_on_error=stop)
        states = self.reader.parse(applied.raw(back))
        if ledger is not None and claims and self.ctx is not None:
            _action.ledger_settle(self.ctx, ledger, claims, claim_ids, applied=applied.results, after=states[-1])
        self._read_back(states, runs, todo, offsets, applied)

    def _ledger_reserve(self, claims: list[_ledger.Claim]) -> tuple[_ledger.Ledger | None, list[str | None]]:
        """:func:`_action.ledger_reserve` against the latest license_info read of the host."""
        if self.ctx is None:
            return None, []
        return _action.ledger_reserve(self.ctx, self.info_state, claims)

    def _read_back(self, states: t.Sequence[t.Any], runs: list[PartRun], todo: list[PartRun], offsets: list[int],
                   applied: _client.BatchResult) -> None:
        index = {id(r): i for i, r in enumerate(self.runs)}
        # The read-back of the parts of this stage becomes their "after"; for every part it is
        # the "before" of the next stage.
        sent = {id(r) for r in todo}
        for r in self.runs:
            state = states[index[id(r)]]
            if id(r) in sent:
                r.after = state
        for r, offset in zip(todo, offsets, strict=True):
            plan = t.cast(_action.Plan, r.plan)
            mine = applied.results[offset:offset + len(plan.operations)]
            r.ctx.applied = [dataclasses.replace(x, index=x.index - offset) for x in mine]
            skipped = [x for x in r.ctx.applied if x.skipped]
            if skipped and not any(x.ok or x.failed for x in r.ctx.applied):
                # Nothing of this part ran: a part before it in the batch failed.
                r.ctx.applied = None
                r.result = {"changed": False, "skipped": True, "changes": plan.changes,
                            "msg": "Not applied: a part before it in the same batch failed"}
                continue
            r.ctx.apply_failure = r.part.apply_failure(r.ctx, plan, r.ctx.applied)
            if isinstance(r.after, _action.LicensingActionError):
                r.ctx.apply_failure = r.ctx.apply_failure or str(r.after)
                r.after = None
            _finish(r, applied=r.after is not None)
        for r in runs:
            if r.result is None and id(r) not in sent:
                _finish(r, applied=False)
        for r in self.runs:
            r.before = states[index[id(r)]]
        self.info_state = states[-1]


def host_result(runs: t.Sequence[PartRun], info_state: t.Any, diff: bool) -> dict[str, t.Any]:
    """host_licensing's return values: each part's result under its option, ``license_info``,
    ``changed``, ``changes``, ``diff`` (a list, one entry per part), ``failed``/``msg`` and the
    parts' warnings (prefixed with the part)."""
    out: dict[str, t.Any] = {"changed": False, "product_keys": [], "kms_client": []}
    changes: list[str] = []
    diffs: list[dict[str, t.Any]] = []
    warnings: list[str] = []
    failures: list[str] = []
    for r in runs:
        res = dict(r.result or {"changed": False})
        if r.option in ("product_keys", "kms_client"):
            out[r.option].append(res)
        else:
            out[r.option] = res
        out["changed"] = out["changed"] or bool(res.get("changed"))
        changes.extend(f"{r.label}: {c}" for c in res.get("changes") or [])
        warnings.extend(f"{r.label}: {w}" for w in res.get("warnings") or [])
        if diff and res.get("diff") is not None:
            diffs.append({"before_header": r.label, "after_header": r.label, **res["diff"]})
        if res.get("failed"):
            failures.append(f"{r.label}: {res.get('msg')}")
    if changes:
        out["changes"] = changes
    if diffs:
        out["diff"] = diffs
    if warnings:
        out["warnings"] = warnings
    if isinstance(info_state, _action.LicensingActionError) or info_state is None:
        out["license_info"] = None
    else:
        out["license_info"] = _parts.info_view(info_state)
    if failures:
        out.update(failed=True, msg="; ".join(failures))
    return out
