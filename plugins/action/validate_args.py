# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.validate_args (documentation in plugins/modules/validate_args.py).

The controller-side validation pass of the roles: every module call a role is about to make,
for every host of the play, is checked by the module's own action plugin in validation-only
mode (``LicensingAction.va_validate_only``: the argument spec, then ``_va_validate``, which
parses the options as the real run would before its first round trip), and every role-level
condition is evaluated; nothing contacts a host. Run once per play (``run_once`` and
``delegate_to: localhost``), before the first task that changes anything.

Why the checks come by variable name (``checks_var``) and not as an already templated list:
Ansible templates a task's arguments once, with the variables of the host it runs for, and a
run_once task runs for the first host only. The role's variables of every other host (its
host_vars, group_vars, the role defaults, ``-e``) are only in that host's own variables, so the
plugin asks the variable manager for each host's variables (as the task would see them on that
host) and templates the variable named by ``checks_var`` in them, once per host.
"""

from __future__ import annotations

import re
import typing as t

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.template import Templar

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _keys

#: The modules whose options can be validated; every other name is refused.
MODULES = ("activation", "host_licensing", "kms_client", "kms_firewall", "kms_host", "kms_srv_record", "license_info",
           "product_key")
#: The keys of one check.
CHECK_KEYS = frozenset({"module", "args", "variables", "that", "msg", "when", "skip_unresolved"})


class ActionModule(ActionBase):
    """Validate module options and role conditions for many hosts without contacting any."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset({"checks", "checks_var", "hosts"})

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "checks": {"type": "list", "elements": "dict"},
        "checks_var": {"type": "str"},
        "hosts": {"type": "list", "elements": "str"},
    }

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        result: dict[str, t.Any] = super().run(tmp=tmp, task_vars=task_vars)
        task_vars = task_vars or {}
        _v, params = self.validate_argument_spec(
            argument_spec=self.ARGUMENT_SPEC,
            mutually_exclusive=[["checks", "checks_var"]],
            required_one_of=[["checks", "checks_var"]],
            required_by={"hosts": ("checks_var",)},
        )
        errors: list[dict[str, t.Any]] = []
        checked = 0
        if params["checks_var"] is not None:
            hosts = params["hosts"] or [task_vars.get("inventory_hostname", "localhost")]
            for host in hosts:
                host_vars = self._host_vars(host, task_vars)
                checks = self._template_checks(host, params["checks_var"], host_vars)
                checked += len(checks)
                errors.extend(self._run_checks(host, checks, host_vars))
        else:
            host = str(task_vars.get("inventory_hostname", "localhost"))
            checks = list(params["checks"] or [])
            checked += len(checks)
            errors.extend(self._run_checks(host, checks, task_vars))
        result.update(changed=False, checked=checked, errors=errors)
        if errors:
            lines = [f"{e['host']}: {e['msg']}" for e in errors]
            result.update(
                failed=True,
                msg=f"Refused before any change, {len(errors)} problem{'s' if len(errors) > 1 else ''} in the "
                    "variables: " + " | ".join(lines),
            )
        return t.cast(dict[str, t.Any], _keys.scrub(result))

    # ------------------------------------------------------------------ helpers

    def _host_vars(self, host: str, task_vars: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The variables ``host`` would see for this task (role defaults, play vars, host_vars...)."""
        if host == task_vars.get("inventory_hostname"):
            return dict(task_vars)
        manager = self._task.get_variable_manager()
        hostvars = task_vars.get("hostvars")
        inventory = getattr(hostvars, "_inventory", None) or getattr(manager, "_inventory", None)
        inv_host = inventory.get_host(host) if inventory is not None else None
        if manager is None or inv_host is None:
            raise AnsibleError(f"validate_args: host '{host}' is not in the inventory")
        return dict(manager.get_vars(
            play=self._task.get_play(),
            host=inv_host,
            task=self._task,
            _hosts=task_vars.get("ansible_play_hosts"),
            _hosts_all=task_vars.get("ansible_play_hosts_all"),
        ))

    def _template_checks(self, host: str, name: str, host_vars: dict[str, t.Any]) -> list[t.Any]:
        """The checks of ``name`` templated with ``host_vars``, one by one: a check that cannot be
        evaluated is reported as a problem of that host, or skipped when it says ``skip_unresolved``
        (a check that reads other hosts' variables, which may need a vault this run does not open)."""
        if name not in host_vars:
            raise AnsibleError(f"validate_args: checks_var '{name}' is not defined for host '{host}'")
        templar = Templar(loader=self._loader, variables=host_vars)
        raw = host_vars[name]
        if not isinstance(raw, list):
            raw = templar.template(raw)
        if not isinstance(raw, list):
            raise AnsibleError(f"validate_args: checks_var '{name}' is not a list for host '{host}'")
        checks: list[t.Any] = []
        for item in raw:
            try:
                checks.append(templar.template(item))
            except AnsibleError as e:
                if isinstance(item, dict) and _truthy(item.get("skip_unresolved", False)):
                    continue
                checks.append({"that": False, "msg": "the variables could not be evaluated: "
                                                     + _keys.scrub_text(to_text(e))})
        return checks

    def _run_checks(self, host: str, checks: t.Sequence[t.Any], task_vars: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        errors: list[dict[str, t.Any]] = []
        for index, check in enumerate(checks):
            if not isinstance(check, dict) or not set(check) <= CHECK_KEYS or (
                    ("module" in check) == ("that" in check)):
                raise AnsibleError(
                    f"validate_args: check {index} must be {{module, args[, variables]}} or {{that, msg}}, "
                    f"not {sorted(check) if isinstance(check, dict) else type(check).__name__}"
                )
            if "when" in check and not _truthy(check["when"]):
                continue
            if "that" in check:
                if not _truthy(check["that"]):
                    errors.append({"host": host, "index": index, "msg": str(check.get("msg") or "a check failed")})
                continue
            module = str(check["module"])
            if module not in MODULES:
                raise AnsibleError(f"validate_args: module '{module}' is not one of {', '.join(MODULES)}")
            args = check.get("args")
            # A list is one call per element (none for an empty list), a dict one call.
            for one in (args if isinstance(args, list) else [args or {}]):
                out = self._validate_module(module, dict(one), task_vars)
                if out.get("failed"):
                    msg = str(out.get("msg"))
                    variables = dict(check.get("variables") or {})
                    named = sorted({var for opt, var in variables.items() if _mentions(msg, opt)})
                    hint = f" (role variable{'s' if len(named) > 1 else ''} {', '.join(named)})" if named else ""
                    errors.append({"host": host, "index": index, "module": module, "msg": msg + hint})
        return errors

    def _validate_module(self, module: str, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        task = self._task.copy()
        task.args = {k: v for k, v in args.items() if not _is_omit(v, task_vars)}
        task.action = f"winops.volume_activation.{module}"
        plugin = self._shared_loader_obj.action_loader.get(
            task.action,
            task=task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
        )
        return t.cast(dict[str, t.Any], plugin.va_validate_only(task_vars))


def _mentions(message: str, option: str) -> bool:
    """Whether a module's message is about ``option``: its name, or its words (``remote address``
    for ``remote_addresses``, as the planners write them)."""
    words = option.replace("_", " ")
    singular = re.sub(r"(?:es|s)$", "", words)
    return any(re.search(rf"\b{re.escape(form)}\b", message) for form in (option, words, singular))


def _truthy(value: t.Any) -> bool:
    """A role condition's value: a bool, or what ``| bool`` accepts as true."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def _is_omit(value: t.Any, task_vars: t.Mapping[str, t.Any]) -> bool:
    """``omit`` in a check's args drops the option, as in a task."""
    omit = task_vars.get("omit")
    return isinstance(value, str) and omit is not None and value == omit
