# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Send one batch of licensing operations to the executor and parse what comes back.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

The executor is ``winops.volume_activation.licensing_batch`` and its contract is
docs/executor-protocol.md. One :meth:`LicensingClient.run` call is one module
execution, i.e. one WinRM round trip.

Secrets: product keys and confirmation IDs never go into ``operations``; a
:class:`Batch` keeps them in ``product_keys`` / ``confirmation_ids`` (``no_log``
options of the executor) and puts a reference ``{"secret": "product_keys",
"index": N}`` where the value is needed. Everything this module logs or returns
passes through :func:`_keys.scrub` with the batch's secrets, so neither a key
nor a key-shaped string can leak through an error message of Windows.

Logging (all lines start ``winops.volume_activation.<action>: ``):

* ``-vv``: one line per batch: number of operations and the classes/methods;
* ``-vvv``: one line per failed operation with its explained HRESULT;
* ``-vvvv``: the operations sent (secrets are references) and the results, scrubbed.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from ansible.errors import AnsibleConnectionFailure
from ansible.utils.display import Display

from . import _errors, _keys

display = Display()

#: The executor module (fully qualified).
EXECUTOR = "winops.volume_activation.licensing_batch"
#: Operations that only read (docs/executor-protocol.md "changed").
READ_OPS = frozenset({"cim_query", "reg_get", "firewall_get", "service_get", "ad_activation_objects",
                      "ad_installation_id", "dns_query", "tcp_exchange"})
#: Every operation the protocol knows.
ALL_OPS = READ_OPS | frozenset(
    {
        "cim_invoke",
        "cim_delete",
        "reg_set",
        "reg_remove",
        "firewall_set",
        "firewall_create",
        "firewall_remove",
        "service_restart",
        "os_restart",
        "ospp_rearm",
        "ad_activation_object_remove",
    }
)
SECRET_KINDS = ("product_keys", "confirmation_ids")


class ExecutorError(Exception):
    """The executor module failed as a whole (validation error, crash, unreachable host).

    ``result`` is the scrubbed module result. The message never holds a secret.
    """

    def __init__(self, message: str, result: t.Mapping[str, t.Any] | None = None) -> None:
        super().__init__(message)
        self.result = dict(result or {})


class CheckModeViolation(RuntimeError):
    """A mutating batch was about to be sent in check mode. This is a bug in a planner."""


@dataclasses.dataclass
class Batch:
    """A list of operations plus the secrets they reference.

    Build with :meth:`add` and the helpers :func:`cim_query`, :func:`cim_invoke`;
    pass secrets through :meth:`product_key` / :meth:`confirmation_id`, which return
    the reference to put in ``arguments``.
    """

    operations: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    product_keys: list[str] = dataclasses.field(default_factory=list, repr=False)
    confirmation_ids: list[str] = dataclasses.field(default_factory=list, repr=False)

    def add(self, op: t.Mapping[str, t.Any]) -> int:
        """Append an operation (validated against the protocol's op names); return its index."""
        name = op.get("op")
        if name not in ALL_OPS:
            raise ValueError(f"unknown executor operation {name!r}")
        self.operations.append(dict(op))
        return len(self.operations) - 1

    def extend(self, ops: t.Iterable[t.Mapping[str, t.Any]]) -> range:
        """Append several operations; return the range of their indexes."""
        start = len(self.operations)
        for op in ops:
            self.add(op)
        return range(start, len(self.operations))

    def product_key(self, key: str) -> dict[str, t.Any]:
        """Register a (validated) product key; return ``{"secret": "product_keys", "index": N}``."""
        norm = _keys.validate_product_key(key)
        if norm not in self.product_keys:
            self.product_keys.append(norm)
        return {"secret": "product_keys", "index": self.product_keys.index(norm)}

    def confirmation_id(self, cid: str) -> dict[str, t.Any]:
        """Register a confirmation ID; return ``{"secret": "confirmation_ids", "index": N}``."""
        if cid not in self.confirmation_ids:
            self.confirmation_ids.append(cid)
        return {"secret": "confirmation_ids", "index": self.confirmation_ids.index(cid)}

    @property
    def secrets(self) -> list[str]:
        return [*self.product_keys, *self.confirmation_ids]

    @property
    def mutating(self) -> bool:
        """True when any operation changes the host."""
        return any(op["op"] not in READ_OPS for op in self.operations)

    def __len__(self) -> int:
        return len(self.operations)


def cim_query(
    class_name: str,
    *,
    filter: str | None = None,
    properties: t.Sequence[str] | None = None,
    optional_properties: t.Sequence[str] | None = None,
    namespace: str | None = None,
) -> dict[str, t.Any]:
    """A ``cim_query`` operation (keys exactly as docs/executor-protocol.md names them).

    ``optional_properties`` (only with ``properties``) are selected where the class has them on
    the host's Windows version. Licensing classes are read with :func:`_state.licensing_query`.
    """
    op: dict[str, t.Any] = {"op": "cim_query", "class": class_name}
    if namespace:
        op["namespace"] = namespace
    if filter:
        op["filter"] = filter
    if properties is not None:
        op["properties"] = list(properties)
    if optional_properties:
        if properties is None:
            raise ValueError("optional_properties needs properties")
        op["optional_properties"] = list(optional_properties)
    return op


def cim_invoke(
    class_name: str,
    method: str,
    *,
    filter: str | None = None,
    arguments: t.Mapping[str, t.Any] | None = None,
    static: bool = False,
    namespace: str | None = None,
    argument_property: str | None = None,
) -> dict[str, t.Any]:
    """A ``cim_invoke`` operation. Product-class invocations need a ``filter`` (protocol rule).
    ``argument_property``: pass that property of each selected instance as the method's only
    in-parameter, by position (docs/executor-protocol.md)."""
    op: dict[str, t.Any] = {"op": "cim_invoke", "class": class_name, "method": method}
    if namespace:
        op["namespace"] = namespace
    if filter:
        op["filter"] = filter
    if arguments:
        op["arguments"] = dict(arguments)
    if argument_property:
        op["argument_property"] = argument_property
    if static:
        op["static"] = True
    return op


@dataclasses.dataclass(frozen=True)
class OpResult:
    """The result of one operation, scrubbed.

    ``hresult`` is the unsigned HRESULT of a failure (None on success);
    ``error`` is the message Windows gave (possibly localized); ``raw`` is the
    whole result dict (``instances``, ``invocations``, ``matched``, ``values``...).
    """

    index: int
    op: str
    ok: bool
    skipped: bool
    hresult: int | None
    error: str | None
    raw: t.Mapping[str, t.Any]

    @property
    def failed(self) -> bool:
        return not self.ok and not self.skipped

    @property
    def message(self) -> str | None:
        """``0xC004F050 (SL_E_INVALID_PRODUCT_KEY): ...`` for a failure, else None."""
        if self.ok or self.skipped:
            return None
        if self.hresult is not None:
            return _errors.explain(self.hresult, self.error)
        return self.error or "the operation failed without an error code"

    def describe(self) -> dict[str, t.Any] | None:
        """:func:`_errors.describe` of the failure, or None."""
        if self.hresult is None:
            return None
        return _errors.describe(self.hresult, self.error)

    @property
    def instances(self) -> list[dict[str, t.Any]]:
        return list(self.raw.get("instances") or [])

    @property
    def invocations(self) -> list[dict[str, t.Any]]:
        return list(self.raw.get("invocations") or [])


@dataclasses.dataclass(frozen=True)
class BatchResult:
    """All results of one batch, aligned with its operations."""

    results: tuple[OpResult, ...]
    changed: bool

    def __getitem__(self, index: int) -> OpResult:
        return self.results[index]

    def __len__(self) -> int:
        return len(self.results)

    @property
    def failures(self) -> list[OpResult]:
        return [r for r in self.results if r.failed]

    def raw(self, indexes: t.Iterable[int] | None = None) -> list[t.Mapping[str, t.Any]]:
        """The raw result dicts (all, or those at ``indexes``)."""
        idx = range(len(self.results)) if indexes is None else indexes
        return [self.results[i].raw for i in idx]


def _hresult(value: t.Any) -> int | None:
    if value is None:
        return None
    try:
        return _errors.to_code(value)
    except ValueError:
        return None


def connection_message(task_vars: t.Mapping[str, t.Any], error: BaseException, mutating: bool,
                       connected: bool) -> str:
    """What an administrator reads when the WinRM connection fails: the host and its address, what
    happened in plain words, whether the batch may have run, what to do; the library's own text last."""
    name = str(task_vars.get("inventory_hostname") or "the host")
    address = str(task_vars.get("ansible_host") or name)
    port = task_vars.get("ansible_port")
    where = f"'{name}' ({address}{f':{port}' if port else ''})"
    raw = " ".join(str(error).split())
    if not connected and ("credentials" in raw.lower() or "401" in raw):
        return (f"Failed to log on to {where} over WinRM: the host refused the credentials; nothing was sent. "
                f"Check ansible_user, ansible_password and ansible_winrm_transport (connection plugin: {raw})")
    if not connected:
        return (f"Failed to connect to {where} over WinRM: the host does not accept the connection (it is off, "
                f"the WinRM service is stopped, or a firewall or a wrong port/scheme is in the way); nothing was "
                f"sent. Check that the host is up and that 'winrm quickconfig' was run on it, then run again "
                f"(connection plugin: {raw})")
    outcome = ("the change may or may not have been made: run the task again - it reads the host first and does "
               "only what is still needed" if mutating else "nothing was changed; run the task again")
    return (f"Failed to run the licensing executor on {where}: the WinRM connection was dropped before the host "
            f"answered, so {outcome}. If it keeps happening, look at the network between the controller and the "
            f"host (proxies, load balancers, idle timeouts) and at the WinRM service's event log "
            f"({type(error).__name__}: {raw})")


def parse_results(raw: t.Mapping[str, t.Any], batch: Batch) -> BatchResult:
    """Parse (and scrub) an executor result for ``batch``.

    Raises :class:`ExecutorError` when the module failed as a whole or the result
    does not have one entry per operation.
    """
    clean = _keys.scrub(dict(raw), batch.secrets)
    clean.pop("invocation", None)
    if clean.get("failed"):
        msg = clean.get("msg") or "the executor failed without a message"
        raise ExecutorError(f"the licensing executor failed: {msg}", clean)
    if clean.get("skipped"):
        raise ExecutorError(f"the licensing executor was skipped: {clean.get('msg', '')}".rstrip(": "), clean)
    results = clean.get("results")
    if not isinstance(results, list) or len(results) != len(batch.operations):
        got = len(results) if isinstance(results, list) else "no"
        raise ExecutorError(
            f"the licensing executor returned {got} results for {len(batch.operations)} operations", clean
        )
    parsed = []
    for i, (op, item) in enumerate(zip(batch.operations, results, strict=True)):
        res = dict(item) if isinstance(item, dict) else {"ok": False, "error": f"malformed result {item!r}"}
        parsed.append(
            OpResult(
                index=i,
                op=str(res.get("op") or op["op"]),
                ok=bool(res.get("ok")),
                skipped=bool(res.get("skipped")),
                hresult=_hresult(res.get("hresult")),
                error=None if res.get("error") is None else str(res.get("error")),
                raw=res,
            )
        )
    return BatchResult(results=tuple(parsed), changed=bool(clean.get("changed")))


def summarize(op: t.Mapping[str, t.Any]) -> str:
    """A short, secret-free label of an operation for logs: ``cim_invoke SoftwareLicensingService.InstallProductKey``."""
    name = op.get("op", "?")
    target = op.get("class") or op.get("name") or op.get("path") or ""
    if op.get("method"):
        target = f"{target}.{op['method']}"
    return f"{name} {target}".strip()


class _ExecutesModules(t.Protocol):
    """The part of ``ActionBase`` the client uses (``_execute_module`` and ``_task``)."""

    _task: t.Any

    def _execute_module(self, *args: t.Any, **kwargs: t.Any) -> dict[str, t.Any]: ...


def _shown(level: int) -> bool:
    """Whether the display shows messages of verbosity ``level`` (a stand-in display without an
    integer ``verbosity``, as the unit tests' recorder, shows everything)."""
    verbosity = getattr(display, "verbosity", None)
    return not isinstance(verbosity, int) or verbosity >= level


class LicensingClient:
    """Runs batches through ``ActionBase._execute_module`` for one task.

    ``action_name`` is the short name (``license_info``) used in the log prefix.
    ``check_mode``: when true, :meth:`run` refuses any mutating batch
    (:class:`CheckModeViolation`) before sending it; read-only batches run in check
    mode, which the executor supports (docs/executor-protocol.md) and where it
    refuses mutating operations itself too.
    ``round_trips`` counts the module executions done.
    """

    def __init__(
        self,
        action: _ExecutesModules,
        task_vars: t.Mapping[str, t.Any] | None,
        action_name: str,
        check_mode: bool = False,
    ) -> None:
        self._action = action
        self._task_vars = dict(task_vars or {})
        self.action_name = action_name
        self.check_mode = check_mode
        self.round_trips = 0
        self.prefix = f"winops.volume_activation.{action_name}: "

    def log(self, level: int, message: str | t.Callable[[], str], secrets: t.Sequence[str] = ()) -> None:
        """Log ``message`` (scrubbed, prefixed) at verbosity ``level`` (1..4).

        Nothing is built below that verbosity: ``message`` may be a callable that returns the text
        (the JSON dumps of -vvvv), and the scrubbing runs only for a message that is shown -- at
        the default verbosity a module execution spends no CPU on its debug log.
        """
        if not _shown(level):
            return
        text = self.prefix + _keys.scrub(message() if callable(message) else message, secrets)
        {1: display.v, 2: display.vv, 3: display.vvv}.get(level, display.vvvv)(text)

    def run(self, batch: Batch, stop_on_error: bool = True) -> BatchResult:
        """Send ``batch`` in one module execution and return the parsed results.

        Raises :class:`CheckModeViolation` for a mutating batch in check mode and
        :class:`ExecutorError` when the module fails as a whole. Operation failures
        do not raise: they are in the results with their HRESULT.
        """
        if not batch.operations:
            return BatchResult(results=(), changed=False)
        if self.check_mode and batch.mutating:
            raise CheckModeViolation(
                "refusing to send mutating operations in check mode: "
                + ", ".join(summarize(op) for op in batch.operations if op["op"] not in READ_OPS)
            )
        module_args: dict[str, t.Any] = {"operations": batch.operations, "stop_on_error": stop_on_error}
        if batch.product_keys:
            module_args["product_keys"] = list(batch.product_keys)
        if batch.confirmation_ids:
            module_args["confirmation_ids"] = list(batch.confirmation_ids)

        secrets = batch.secrets
        self.log(2, lambda: f"sending {len(batch)} operations: " + "; ".join(summarize(op) for op in batch.operations),
                 secrets)
        self.log(4, lambda: "operations: " + json.dumps(batch.operations, sort_keys=True, default=str), secrets)

        try:
            raw = self._action._execute_module(module_name=EXECUTOR, module_args=module_args,
                                               task_vars=self._task_vars)
        except AnsibleConnectionFailure as e:
            # Unreachable stays unreachable (Ansible's own status), with a message that says what to do.
            self.round_trips += 1
            raise AnsibleConnectionFailure(connection_message(self._task_vars, e, batch.mutating, connected=False)) from None
        except OSError as e:
            # requests' ConnectionError (an OSError): the connection was cut after the request was sent.
            self.round_trips += 1
            raise ExecutorError(connection_message(self._task_vars, e, batch.mutating, connected=True)) from e
        self.round_trips += 1
        try:
            result = parse_results(raw, batch)
        except ExecutorError as e:
            self.log(3, str(e))
            raise
        self.log(4, lambda: "results: " + json.dumps([r.raw for r in result.results], sort_keys=True, default=str),
                 secrets)
        for r in result.failures:
            self.log(3, f"operation {r.index} ({summarize(batch.operations[r.index])}) failed: {r.message}", secrets)
        return result
