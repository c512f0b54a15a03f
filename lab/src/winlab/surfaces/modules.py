"""Answers Ansible module executions on a simulated host, shaped like Ansible.Basic output.

Simulated modules:

* ``winops.volume_activation.licensing_batch``: the collection's executor
  (``surfaces.executor``; contract in docs/executor-protocol.md);
* ``ansible.windows.win_ping``: ``{"changed": false, "ping": data}``.

Anything else returns rc 1 with a message that the lab does not simulate it.

Ansible.Basic behaviours imitated (ansible-core ``module_utils/csharp/Ansible.Basic.cs``):
unsupported options and missing required options fail before the module runs;
both simulated modules declare ``supports_check_mode`` (the executor then refuses a
mutating batch before running anything, docs/executor-protocol.md); ``invocation.module_args`` echoes the options with
``no_log`` values replaced by ``VALUE_SPECIFIED_IN_NO_LOG_PARAMETER`` (and any string
containing one masked with ``********``). Note: real Ansible.Basic registers a list
option's no_log value as the list's ``ToString()`` (a type name), so it would NOT mask
the items of ``product_keys``; the lab masks each item as the executor must ensure.
"""

from __future__ import annotations

import copy
import json
import typing as t

from winlab.models.host import WindowsHost
from winlab.surfaces.executor import BatchValidationError, run_batch
from winlab.types import CommandResult, ModuleCall

if t.TYPE_CHECKING:
    from winlab.models.world import World

NO_LOG_VALUE = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

EXECUTOR = "winops.volume_activation.licensing_batch"
WIN_PING = "ansible.windows.win_ping"

# option -> (type, required, no_log, default)
EXECUTOR_SPEC: dict[str, tuple[str, bool, bool, t.Any]] = {
    "operations": ("list", True, False, None),
    "product_keys": ("list", False, True, None),
    "confirmation_ids": ("list", False, True, None),
    "stop_on_error": ("bool", False, False, True),
}
WIN_PING_SPEC: dict[str, tuple[str, bool, bool, t.Any]] = {"data": ("str", False, False, "pong")}

_TRUE = {"yes", "on", "1", "true", "y", "t"}
_FALSE = {"no", "off", "0", "false", "n", "f"}


def _mask(value: t.Any, secrets: list[str]) -> t.Any:
    """Ansible.Basic RemoveNoLogValues: exact match -> placeholder, containment -> ********."""
    if isinstance(value, dict):
        return {k: _mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secrets) for v in value]
    if isinstance(value, str):
        if value in secrets:
            return NO_LOG_VALUE
        for s in secrets:
            if s and s in value:
                value = value.replace(s, "********")
        return value
    return value


class _ArgError(ValueError):
    pass


def _parse_args(spec: dict[str, tuple[str, bool, bool, t.Any]], args: dict[str, t.Any],
                module: str) -> tuple[dict[str, t.Any], list[str]]:
    """Apply an argument spec as Ansible.Basic does; returns (params, no_log secrets)."""
    unsupported = sorted(set(args) - set(spec))
    if unsupported:
        raise _ArgError(f"Unsupported parameters for ({module}) module: {', '.join(unsupported)}. "
                        f"Supported parameters include: {', '.join(sorted(spec))}")
    missing = [k for k, (_, req, _, _) in spec.items() if req and args.get(k) is None]
    if missing:
        raise _ArgError(f"missing required arguments: {', '.join(missing)}")
    params: dict[str, t.Any] = {}
    secrets: list[str] = []
    for name, (typ, _, no_log, default) in spec.items():
        v = args.get(name, default)
        if v is not None:
            if typ == "list":
                v = v if isinstance(v, list) else [x.strip() for x in str(v).split(",")]
            elif typ == "bool" and not isinstance(v, bool):
                sv = str(v).lower()
                if sv not in _TRUE | _FALSE:
                    raise _ArgError(f"argument for {name} is of type {type(v).__name__} and we were unable "
                                    "to convert to bool")
                v = sv in _TRUE
            elif typ == "str":
                v = str(v)
        params[name] = v
        if no_log and v is not None:
            secrets.extend(str(x) for x in (v if isinstance(v, list) else [v]) if str(x))
    return params, secrets


def _invocation(params: dict[str, t.Any], spec: dict[str, tuple[str, bool, bool, t.Any]],
                secrets: list[str]) -> dict[str, t.Any]:
    args = copy.deepcopy(params)
    for name, (_, _, no_log, _) in spec.items():
        if no_log and args.get(name) is not None:
            v = args[name]
            args[name] = [NO_LOG_VALUE for _ in v] if isinstance(v, list) else NO_LOG_VALUE
    return {"module_args": _mask(args, secrets)}


def _result(rc: int, body: dict[str, t.Any]) -> CommandResult:
    return CommandResult(rc=rc, stdout=(json.dumps(body) + "\r\n").encode("utf-8"))


def run_module(world: World, host: WindowsHost, call: ModuleCall) -> CommandResult:
    """Answer one module execution; stdout is the module's JSON result (never a secret)."""
    name = call.name
    module_name = str(call.internal.get("_ansible_module_name") or name)
    if name == EXECUTOR:
        return _run_executor(world, host, call, module_name)
    if name == WIN_PING:
        return _run_ping(host, call, module_name)
    with world.lock:
        host.log({"module": name, "check_mode": call.check_mode, "failed": True, "reason": "not simulated"})
    return _result(1, {"failed": True, "changed": False,
                       "msg": f"winlab does not simulate the module '{name}' on {host.name}; "
                              f"simulated modules: {EXECUTOR}, {WIN_PING}"})


def _run_ping(host: WindowsHost, call: ModuleCall, module_name: str) -> CommandResult:
    try:
        params, secrets = _parse_args(WIN_PING_SPEC, call.args, module_name)
    except _ArgError as e:
        return _result(1, {"failed": True, "changed": False, "msg": str(e)})
    host.world.lock.acquire()
    try:
        host.log({"module": call.name, "check_mode": call.check_mode})
    finally:
        host.world.lock.release()
    inv = _invocation(params, WIN_PING_SPEC, secrets)
    if params["data"] == "crash":
        # win_ping.ps1 throws for data=crash (used to test failure handling).
        return _result(1, {"failed": True, "changed": False, "msg": "Unhandled exception while executing module: "
                           "boom", "invocation": inv})
    return _result(0, {"changed": False, "ping": params["data"], "invocation": inv})


def _run_executor(world: World, host: WindowsHost, call: ModuleCall, module_name: str) -> CommandResult:
    try:
        params, secrets = _parse_args(EXECUTOR_SPEC, call.args, module_name)
    except _ArgError as e:
        with world.lock:
            host.log({"module": call.name, "check_mode": call.check_mode, "failed": True, "ops": []})
        return _result(1, {"failed": True, "changed": False, "msg": _mask(str(e), [])})
    inv = _invocation(params, EXECUTOR_SPEC, secrets)
    try:
        # The executor declares supports_check_mode; in check mode it runs read-only batches
        # and refuses any mutating operation before running anything.
        out = run_batch(world, host, params, check_mode=call.check_mode, script=call.script)
    except BatchValidationError as e:
        with world.lock:
            host.log({"module": call.name, "check_mode": call.check_mode, "failed": True, "ops": []})
        return _result(1, {"failed": True, "changed": False,
                           "msg": _mask(f"Invalid operation batch, nothing was run: {e}", secrets), "invocation": inv})
    log_ops = out.pop("_log_ops")
    with world.lock:
        host.log({"module": call.name, "check_mode": call.check_mode, "changed": out["changed"], "ops": log_ops})
    body = _mask({**out, "invocation": inv}, secrets)
    return _result(0, body)
