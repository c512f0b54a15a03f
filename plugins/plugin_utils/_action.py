# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base class of every action plugin of this collection.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

:class:`LicensingAction` is a template method in the style of microsoft.ad's
``_module_with_reboot``: :meth:`LicensingAction.run` is fixed and subclasses
override named hooks (all prefixed ``_va_``), never ``run()`` itself::

    run()
      1. validate_argument_spec(ARGUMENT_SPEC, **ARGUMENT_SPEC_OPTIONS) -> params
      2. reader = _va_reader(ctx)                           default: StateQuery() (whole licensing state)
      3. before = reader.parse(client.run(reader.operations(), stop_on_error=False))  round trip 1
      4. plan = _va_plan(ctx, before)                        default: empty Plan (read-only action)
      4b. key ledger (only with a ledger, see _ledger): holds a killed run left for this host
          are settled from ``before``; plan.claims are checked (check mode) or reserved under
          the ledger's lock, a used-up budget refusing the task before anything is sent
      5. when plan has operations and not check mode:
           client.run(plan operations + reader.operations())  round trip 2 (apply + read back;
                                                     the executor runs read operations even
                                                     after a failed mutating one)
           after = reader.parse(read-back results)
           after = _va_after_apply(ctx, reader, plan, after)    default: unchanged (rearm waits for
                                                     the restart here and reads again)
           failure = _va_apply_failure(ctx, plan, apply results)   default: first failed op
           plan.claims settled: a successful activation recorded, a failed attempt released
      6. result = _va_result(ctx, before, after, plan)       default: {}
         + changed, diff (plan.diff when the task runs with --diff), failed/msg
      7. the whole result is scrubbed of product keys and of the task's no_log values

Performance contract: a read-only module or a no-op costs one round trip; a
change costs two, whether it succeeds or fails.
Check mode: the plan is computed and reported (``changed``, ``diff``) but no
mutating operation is ever sent (:class:`_client.LicensingClient` enforces it).
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from . import _client, _keys, _ledger, _state

ParsedState = t.Any


class StateReader(t.Protocol):
    """Reads state in one batch: the operations to send and how to parse their results."""

    def operations(self) -> list[dict[str, t.Any]]: ...

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> ParsedState: ...


@dataclasses.dataclass(frozen=True)
class LicensingStateReader:
    """The default reader: the licensing state of :func:`_state.parse_state` for a :class:`_state.StateQuery`."""

    query: _state.StateQuery = dataclasses.field(default_factory=_state.StateQuery)

    def operations(self) -> list[dict[str, t.Any]]:
        return self.query.operations()

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> _state.HostState:
        return _state.parse_state(self.query, results)


@dataclasses.dataclass
class Plan:
    """What a planner wants done: operations, each with a description, and the diff.

    Descriptions are phrased to follow ``Failed to``: ``install product key
    'XXXXX-XXXXX-XXXXX-XXXXX-T83GX' on 'Windows(R), ServerStandard edition'``.
    ``batch`` carries the secrets the operations reference. ``diff`` is shown with
    ``--diff`` (``{"before": ..., "after": ...}``, keys masked).
    """

    batch: _client.Batch = dataclasses.field(default_factory=_client.Batch)
    descriptions: list[str] = dataclasses.field(default_factory=list)
    diff: dict[str, t.Any] | None = None
    stop_on_error: bool = True
    #: What the plan does with keys the key ledger may budget (:class:`_ledger.Claim`: a MAK or
    #: KMS host key installed, a product activated with one). The engine reserves them before
    #: the apply (refusing when the budget is used up) and settles them after; a planner only
    #: appends claims, it never touches the ledger itself.
    claims: list[_ledger.Claim] = dataclasses.field(default_factory=list)

    def add(self, op: t.Mapping[str, t.Any], description: str) -> int:
        """Append an operation with its description; return its index."""
        index = self.batch.add(op)
        self.descriptions.append(description)
        return index

    @property
    def operations(self) -> list[dict[str, t.Any]]:
        return self.batch.operations

    @property
    def changes(self) -> list[str]:
        """The descriptions, scrubbed: what will be (or was) done."""
        return [_keys.scrub_text(d) for d in self.descriptions]

    def __bool__(self) -> bool:
        return bool(self.batch.operations)


@dataclasses.dataclass
class ActionContext:
    """Everything a hook may need about the task being run."""

    params: dict[str, t.Any]
    task_vars: dict[str, t.Any]
    check_mode: bool
    diff: bool
    client: _client.LicensingClient
    action_name: str
    #: Set by :meth:`LicensingAction.run` before ``_va_result``: the results of the plan's
    #: operations (None in check mode or when nothing was sent) and the failure message
    #: ``_va_apply_failure`` returned (None when the apply succeeded).
    applied: t.Sequence[_client.OpResult] | None = None
    apply_failure: str | None = None


def failure_message(plan: Plan, result: _client.OpResult) -> str:
    """``Failed to <description>: 0x... (SYMBOL): <explanation>; next step: <remedy>`` for a
    failed operation of ``plan`` (no next step when the HRESULT table has no remedy)."""
    info = result.describe()
    remedy = f"; next step: {info['remedy']}" if info and info.get("remedy") else ""
    return f"Failed to {plan.descriptions[result.index]}: {result.message}{remedy}"


def ledger_products(state: _state.HostState) -> list[_ledger.ProductView]:
    """The products as the key ledger sees them (partial key, licensed or not)."""
    return [_ledger.ProductView(activation_id=p.id, partial_key=p.partial_product_key, activated=p.activated,
                                name=p.name) for p in state.products]


def ledger_cmid(state: _state.HostState) -> str | None:
    """The host's client machine ID (Software Licensing Service, else OSPP), for the ledger's records."""
    for s in (state.service, state.ospp_service):
        if s is not None and s.cmid:
            return s.cmid
    return None


def ledger_reserve(
    ctx: ActionContext, before: ParsedState, claims: t.Sequence[_ledger.Claim]
) -> tuple[_ledger.Ledger | None, list[str | None]]:
    """The key ledger's part before an apply (see :mod:`_ledger`); nothing without a ledger.

    Settles the holds an interrupted run left for this host (from ``before``), then checks
    (check mode) or reserves ``claims``; :class:`_ledger.LedgerError` refuses the task before
    anything is sent. Shared by every module that applies a plan (``host_licensing`` gives the
    claims of all its parts, shifted to their place in the one batch).
    """
    path = _ledger.ledger_path(ctx.task_vars)
    if path is None or not isinstance(before, _state.HostState):
        return None, []
    ledger = _ledger.Ledger(path)
    host = str(ctx.task_vars.get("inventory_hostname") or "")
    if not ctx.check_mode:
        for note in ledger.reconcile(host, ledger_products(before), ledger_cmid(before)):
            ctx.client.log(1, note)
    if not claims:
        return ledger, []
    if ctx.check_mode:
        ledger.check(host, list(claims))
        return ledger, []
    return ledger, ledger.reserve(host, list(claims))


def ledger_settle(
    ctx: ActionContext,
    ledger: _ledger.Ledger,
    claims: t.Sequence[_ledger.Claim],
    ids: t.Sequence[str | None],
    *,
    applied: t.Iterable[_client.OpResult],
    after: ParsedState | None,
) -> None:
    """Record the activations made and release what failed, from the results of the batch the
    claims' ``op_index`` points into."""
    by_index = {r.index: r for r in applied}
    outcomes: list[bool | None] = []
    for c in claims:
        r = by_index.get(c.op_index)
        outcomes.append(None if r is None else bool(r.ok))
    state = after if isinstance(after, _state.HostState) else None
    host = str(ctx.task_vars.get("inventory_hostname") or "")
    ledger.settle(host, list(claims), ids, outcomes, ledger_cmid(state) if state else None)


class PlanningError(Exception):
    """A refusal of the task's options or of what the host holds, raised by a planner (or
    a parser of options) before anything that changes the host is sent. :meth:`LicensingAction.run`
    reports it as ``failed: true`` with the message, prefixed by :meth:`LicensingAction._va_refusal_prefix`.
    The planners' own errors (``KeyPlanError``, ``ActivationPlanError``, ``SettingError``, ...)
    derive from it, so no action plugin translates them itself."""


class LicensingActionError(Exception):
    """Raised by hooks for a failure to report as ``failed: true`` with this message."""

    def __init__(self, message: str, **extra: t.Any) -> None:
        super().__init__(message)
        self.extra = extra


class LicensingAction(ActionBase):
    """Template method for the collection's action plugins (see the module docstring).

    Class constants:

    * ``ARGUMENT_SPEC``: the options, the single source of truth (a unit test checks
      it against the module's DOCUMENTATION).
    * ``ARGUMENT_SPEC_OPTIONS``: keyword arguments for ``validate_argument_spec``
      (``mutually_exclusive``, ``required_if``, ``required_together``, ...).
    """

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {}
    ARGUMENT_SPEC_OPTIONS: t.ClassVar[dict[str, t.Any]] = {}
    TRANSFERS_FILES = False

    # ----------------------------------------------------------------- hooks

    def _va_reader(self, ctx: ActionContext) -> StateReader:
        """The state to read before planning and after applying.

        Default: :class:`LicensingStateReader` with ``StateQuery()``: the OS, the
        SPP and OSPP services and every product with a key.
        """
        return LicensingStateReader()

    def _va_plan(self, ctx: ActionContext, before: ParsedState) -> Plan:
        """Decide what to change given the current state.

        Default: an empty plan, which makes the action read-only. Raise
        :class:`PlanningError` (or :class:`LicensingActionError`) to fail before anything is sent.
        """
        return Plan()

    def _va_apply_failure(
        self, ctx: ActionContext, plan: Plan, applied: t.Sequence[_client.OpResult]
    ) -> str | None:
        """The failure message after applying, or None when the apply succeeded.

        Default: the first failed operation, as ``Failed to <description>:
        0x... (SYMBOL): <explanation>; next step: <remedy>`` (the remedy when the HRESULT
        table has one). Override to tolerate expected failures.
        """
        for r in applied:
            if r.failed:
                return failure_message(plan, r)
        return None

    def _va_result(
        self, ctx: ActionContext, before: ParsedState, after: ParsedState | None, plan: Plan
    ) -> dict[str, t.Any]:
        """The module-specific return values.

        ``after`` is the state read back after applying; in check mode, or when
        nothing was applied, it is None (``ctx.applied`` and ``ctx.apply_failure`` hold
        the apply's results and failure message). Default: ``{}``. ``changed``, ``diff``,
        ``failed`` and ``msg`` are set by :meth:`run`.
        """
        return {}

    def _va_after_apply(
        self, ctx: ActionContext, reader: StateReader, plan: Plan, after: ParsedState
    ) -> ParsedState:
        """The state to report after the apply, given the one read back in the apply's batch.

        Default: ``after`` unchanged. Override when the change completes later (rearm: wait
        for the restart the batch ordered, then read again; see ``_restart``). Raise
        :class:`LicensingActionError` when it never completes.
        """
        return after

    def _va_validate(self, ctx: ActionContext) -> None:
        """Every check of the options that needs no host; raise :class:`PlanningError` (or
        :class:`LicensingActionError`, ``_keys.ProductKeyError``) to refuse them.

        Called by :meth:`va_validate_only` (the controller-side validation pass of the roles,
        ``validate_args``), never by :meth:`run`, which validates in ``_va_reader``. Default:
        build the reader with :meth:`_va_reader`, where every action of this collection parses
        and validates its options before the first round trip; building it contacts no host.
        """
        self._va_reader(ctx)

    def _va_refusal_prefix(self, ctx: ActionContext) -> str:
        """What goes before the message of a :class:`PlanningError` (``"Failed to configure
        the KMS host: "``). Default: nothing, for planners whose messages are whole sentences."""
        return ""

    # ----------------------------------------------------------------- run

    def _va_action_name(self) -> str:
        return str(self._task.action).rsplit(".", 1)[-1]

    def _va_no_log_values(self, params: t.Mapping[str, t.Any]) -> list[str]:
        """String values of ``no_log`` options, scrubbed from everything returned."""
        values: list[str] = []
        for name, spec in self.ARGUMENT_SPEC.items():
            if spec.get("no_log") and params.get(name) is not None:
                val = params[name]
                values.extend(str(v) for v in (val if isinstance(val, (list, tuple)) else [val]) if v)
        return values

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result: dict[str, t.Any] = super().run(tmp=tmp, task_vars=task_vars)
        del tmp
        task_vars = task_vars or {}
        raw_args = dict(self._task.args)
        secrets = [str(v) for k, v in raw_args.items() if self.ARGUMENT_SPEC.get(k, {}).get("no_log") and v]

        try:
            _validation, params = self.validate_argument_spec(
                argument_spec=self.ARGUMENT_SPEC, **self.ARGUMENT_SPEC_OPTIONS
            )
        except AnsibleActionFail as e:
            result.update(failed=True, changed=False, msg=_keys.scrub(self._va_argspec_message(str(e)), secrets))
            return t.cast(dict[str, t.Any], _keys.scrub(result, secrets))
        secrets += self._va_no_log_values(params)

        name = self._va_action_name()
        check_mode = bool(self._task.check_mode)
        client = _client.LicensingClient(self, task_vars, name, check_mode=check_mode)
        ctx = ActionContext(
            params=params,
            task_vars=task_vars,
            check_mode=check_mode,
            diff=bool(self._task.diff),
            client=client,
            action_name=name,
        )
        result.update(self._va_guarded(ctx, self._va_run))
        result["round_trips"] = client.round_trips
        return t.cast(dict[str, t.Any], _keys.scrub(result, secrets))

    def _va_guarded(self, ctx: ActionContext, step: t.Callable[[ActionContext], dict[str, t.Any]]) -> dict[str, t.Any]:
        """``step(ctx)``, with the refusals and failures of the hooks turned into ``failed``/``msg``."""
        result: dict[str, t.Any] = {}
        try:
            result.update(step(ctx))
        except PlanningError as e:
            result.update(failed=True, changed=False, msg=self._va_refusal_prefix(ctx) + str(e))
        except LicensingActionError as e:
            result.update(e.extra)
            result.update(failed=True, msg=str(e))
            result.setdefault("changed", False)
        except _client.ExecutorError as e:
            result.update(failed=True, changed=False, msg=str(e))
        except _ledger.LedgerError as e:
            result.update(failed=True, msg=str(e))
            result.setdefault("changed", False)
        except _keys.ProductKeyError as e:
            # A key a planner could not accept: a user error, reported before anything changed.
            result.update(failed=True, changed=False, msg=f"Failed to validate the product key: {e}")
        return result

    def _va_argspec_message(self, message: str) -> str:
        """Ansible's message for a refused argument spec, completed where it does not name the option:
        an element of a list-of-dictionaries option that is not a dictionary ("dictionary requested,
        could not parse JSON or key=value") is named with its index and value."""
        if any(name in message for name in self.ARGUMENT_SPEC):
            return message
        for name, spec in self.ARGUMENT_SPEC.items():
            value = self._task.args.get(name)
            if spec.get("type") == "list" and spec.get("elements") == "dict" and isinstance(value, list):
                for index, item in enumerate(value):
                    if not isinstance(item, dict):
                        return (f"{name}[{index}] must be a dictionary of {', '.join(sorted(spec.get('options', {})))}"
                                f", got {type(item).__name__} '{_keys.scrub_text(str(item))}' ({message})")
        return message

    def va_validate_only(self, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        """The validation-only pass: the argument spec, then :meth:`_va_validate`; no host is
        contacted (``round_trips`` is 0). Returns ``{"failed": True, "msg": ...}`` (scrubbed of
        product keys and of the no_log values) for refused options, ``{}`` for good ones.
        Used by the ``validate_args`` action on the controller, before a role changes any host."""
        raw_args = dict(self._task.args)
        secrets = [str(v) for k, v in raw_args.items() if self.ARGUMENT_SPEC.get(k, {}).get("no_log") and v]
        try:
            _validation, params = self.validate_argument_spec(
                argument_spec=self.ARGUMENT_SPEC, **self.ARGUMENT_SPEC_OPTIONS
            )
        except AnsibleActionFail as e:
            return t.cast(dict[str, t.Any], _keys.scrub({"failed": True, "msg": self._va_argspec_message(str(e))},
                                                        secrets))
        secrets += self._va_no_log_values(params)
        name = self._va_action_name()
        client = _client.LicensingClient(self, task_vars, name, check_mode=True)
        ctx = ActionContext(params=params, task_vars=task_vars, check_mode=True, diff=False, client=client,
                            action_name=name)

        def validate(c: ActionContext) -> dict[str, t.Any]:
            self._va_validate(c)
            return {}

        out = self._va_guarded(ctx, validate)
        if client.round_trips:  # pragma: no cover - a hook that contacts the host is a bug
            raise AssertionError(f"{name}: _va_validate contacted the host")
        return t.cast(dict[str, t.Any], _keys.scrub(out, secrets))

    def _va_ledger_reserve(
        self, ctx: ActionContext, before: ParsedState, plan: Plan
    ) -> tuple[_ledger.Ledger | None, list[str | None]]:
        """The key ledger's part before the apply: :func:`ledger_reserve` with ``plan.claims``."""
        return ledger_reserve(ctx, before, plan.claims)

    def _va_ledger_settle(
        self, ctx: ActionContext, ledger: _ledger.Ledger, plan: Plan, ids: t.Sequence[str | None], after: ParsedState
    ) -> None:
        """Record the activations made and release what failed: :func:`ledger_settle` with ``ctx.applied``."""
        ledger_settle(ctx, ledger, plan.claims, ids, applied=ctx.applied or (), after=after)

    def _va_run(self, ctx: ActionContext) -> dict[str, t.Any]:
        client = ctx.client
        reader = self._va_reader(ctx)
        read_ops = reader.operations()
        read_batch = _client.Batch()
        read_batch.extend(read_ops)
        # Optional reader hook: read operations that need a secret (ad_installation_id), added to
        # the first read only; their results follow the reader's own (the read-back omits them).
        first_read = getattr(reader, "first_read", None)
        if first_read is not None:
            first_read(read_batch)
        before = reader.parse(client.run(read_batch, stop_on_error=False).raw())

        plan = self._va_plan(ctx, before)
        out: dict[str, t.Any] = {"changed": False}
        ledger, claim_ids = self._va_ledger_reserve(ctx, before, plan)
        after: ParsedState | None = None
        failure: str | None = None
        if plan:
            out["changes"] = plan.changes
            if ctx.check_mode:
                out["changed"] = True
                client.log(2, f"check mode: would {'; '.join(plan.changes)}")
            else:
                batch = dataclasses.replace(
                    plan.batch,
                    operations=list(plan.batch.operations),
                    product_keys=list(plan.batch.product_keys),
                    confirmation_ids=list(plan.batch.confirmation_ids),
                )
                back = batch.extend(read_ops)
                applied = client.run(batch, stop_on_error=plan.stop_on_error)
                out["changed"] = applied.changed
                ctx.applied = applied.results[: len(plan.operations)]
                failure = self._va_apply_failure(ctx, plan, ctx.applied)
                ctx.apply_failure = failure
                # Read operations run even after a failed mutating one (executor protocol), so
                # the read-back shows where the host really stands.
                after = reader.parse(applied.raw(back))
                after = self._va_after_apply(ctx, reader, plan, after)
                if ledger is not None and plan.claims:
                    self._va_ledger_settle(ctx, ledger, plan, claim_ids, after)
        out.update(self._va_result(ctx, before, after, plan))
        if ctx.diff and plan.diff is not None:
            out["diff"] = plan.diff
        if failure:
            out.update(failed=True, msg=failure)
        return out
