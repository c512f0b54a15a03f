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
host) and templates the variable named by ``checks_var`` in them.

Not once per host of a big fleet, though: templating the checks and validating the calls is what
costs (tens of milliseconds a host), and most hosts share their values (group_vars, role
defaults). The plugin follows the templates from ``checks_var`` (and the role's argument
specification) to every variable they read, through the variables those read in turn, and groups
the hosts whose variables come out equal as written (not templated). Each group is templated and
checked once, and its problems are reported for every host of the group. A template that reads a
host's own identity (``inventory_hostname``, ``ansible_host``, facts...) puts that variable in the
comparison, so such hosts are never grouped; only the fleet-wide names (``hostvars``, ``groups``,
the play's host lists, :data:`FLEET_NAMES`) are the same for every host by construction.
"""

from __future__ import annotations

import json
import os
import re
import typing as t

import jinja2
import jinja2.nodes
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.template import Templar

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _keys

#: The modules whose options can be validated; every other name is refused.
MODULES = ("activation", "host_licensing", "kms_client", "kms_firewall", "kms_host", "kms_srv_record", "license_info",
           "product_key")
#: The keys of one check.
CHECK_KEYS = frozenset({"module", "args", "variables", "that", "msg", "when", "skip_unresolved"})
#: Variables that hold the same value for every host of one task (the fleet, the play, the run):
#: a template that reads them does not make a host's checks differ from another's.
FLEET_NAMES = frozenset({
    "hostvars", "groups", "omit", "ansible_play_hosts", "ansible_play_hosts_all", "ansible_play_batch",
    "play_hosts", "ansible_play_name", "ansible_play_role_names", "role_names", "ansible_role_names",
    "ansible_check_mode", "ansible_diff_mode", "ansible_verbosity", "ansible_version", "ansible_forks",
    "ansible_run_tags", "ansible_skip_tags", "ansible_inventory_sources", "ansible_config_file",
    "playbook_dir", "role_path", "role_name", "ansible_role_name", "ansible_collection_name",
    "ansible_parent_role_names", "ansible_parent_role_paths", "ansible_dependent_role_names",
    "ansible_search_path", "range", "lookup", "query", "q", "now", "undef", "dict", "lipsum", "cycler",
    "joiner", "namespace", "true", "false", "none", "True", "False", "None",
})
_PARSER = jinja2.Environment()
_REFS: dict[str, frozenset[str] | None] = {}


class ActionModule(ActionBase):
    """Validate module options and role conditions for many hosts without contacting any."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset({"checks", "checks_var", "hosts", "role_argument_spec"})

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "checks": {"type": "list", "elements": "dict"},
        "checks_var": {"type": "str"},
        "hosts": {"type": "list", "elements": "str"},
        "role_argument_spec": {"type": "str"},
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
        spec = self._role_spec(params["role_argument_spec"], task_vars) if params["role_argument_spec"] else None
        variable_sets = 0
        if params["checks_var"] is not None:
            hosts = params["hosts"] or [task_vars.get("inventory_hostname", "localhost")]
            roots = [params["checks_var"], *(spec or {})]
            groups: dict[t.Any, list[str]] = {}
            first_vars: dict[t.Any, dict[str, t.Any]] = {}
            for host in hosts:
                host_vars = self._host_vars(host, task_vars)
                key = _signature(roots, host_vars)
                if key is None:  # not comparable: a group of its own
                    key = ("host", host)
                if key not in groups:
                    groups[key] = []
                    first_vars[key] = host_vars
                groups[key].append(host)
            variable_sets = len(groups)
            for key, members in groups.items():
                host_vars = first_vars[key]
                found: list[dict[str, t.Any]] = []
                if spec:
                    found.extend(self._check_role_spec(members[0], spec, host_vars))
                checks = self._template_checks(members[0], params["checks_var"], host_vars)
                checked += len(checks) * len(members)
                found.extend(self._run_checks(members[0], checks, host_vars))
                errors.extend({**e, "host": member} for member in members for e in found)
        else:
            host = str(task_vars.get("inventory_hostname", "localhost"))
            checks = list(params["checks"] or [])
            checked += len(checks)
            errors.extend(self._run_checks(host, checks, task_vars))
        result.update(changed=False, checked=checked, errors=errors, variable_sets=variable_sets)
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

    def _role_spec(self, entry_point: str, task_vars: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The options of the calling role's entry point, from its meta/argument_specs.yml (what
        ansible-core's implicit per-host check validates)."""
        role_path = task_vars.get("role_path")
        if not role_path:
            raise AnsibleError("validate_args: role_argument_spec is only for a task of a role (no role_path)")
        path = os.path.join(str(role_path), "meta", "argument_specs.yml")
        data = self._loader.load_from_file(path) if os.path.exists(path) else None
        specs = (data or {}).get("argument_specs") or {}
        if entry_point not in specs:
            raise AnsibleError(f"validate_args: the role at {role_path} has no argument specification "
                               f"'{entry_point}' in meta/argument_specs.yml")
        return dict(specs[entry_point].get("options") or {})

    def _check_role_spec(self, host: str, spec: dict[str, t.Any], host_vars: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        """The role variables of ``host`` against the role's argument specification, as ansible-core's
        validate_argument_spec checks them (the variables the spec names, templated)."""
        templar = Templar(loader=self._loader, variables=host_vars)
        provided: dict[str, t.Any] = {}
        problems: list[dict[str, t.Any]] = []
        for name in spec:
            if name not in host_vars:
                continue
            try:
                provided[name] = templar.template(host_vars[name])
            except AnsibleError as e:
                problems.append({"host": host, "index": -1, "msg": f"{name} could not be evaluated: "
                                 + _keys.scrub_text(to_text(e))})
        if problems:
            return problems
        outcome = ArgumentSpecValidator(spec).validate(provided, validate_role_argument_spec=True)
        return [{"host": host, "index": -1, "msg": _keys.scrub_text(to_text(m))} for m in outcome.error_messages]

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


def _signature(roots: t.Sequence[str], host_vars: t.Mapping[str, t.Any]) -> t.Any:
    """What the checks of a host depend on: every variable reachable from ``roots`` through the
    templates of the variables' values as written, with that value (JSON, keys sorted), minus
    :data:`FLEET_NAMES`. Two hosts with equal signatures template every check alike. None when a
    template cannot be parsed or a value cannot be compared (the host is then checked on its own)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name in FLEET_NAMES:
            continue
        seen.add(name)
        if name not in host_vars:
            continue
        for text in _strings(host_vars[name]):
            refs = _references(text)
            if refs is None:
                return None
            stack.extend(refs)
    try:
        return tuple((name, json.dumps(host_vars[name], sort_keys=True, default=repr) if name in host_vars else None)
                     for name in sorted(seen))
    except Exception:  # a value that does not serialize, a vault that does not open: no grouping
        return None


def _strings(value: t.Any) -> t.Iterator[str]:
    """Every string in a value as written (nested lists and dictionaries, keys too)."""
    if isinstance(value, str):
        yield str(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _references(text: str) -> frozenset[str] | None:
    """The variables a template reads (none for plain text); None when it does not parse."""
    if "{{" not in text and "{%" not in text:
        return frozenset()
    if text not in _REFS:
        # The names the template loads, less those it binds itself (loop variables, set, macro
        # parameters). Not jinja2.meta.find_undeclared_variables: it compiles the template, which
        # fails on Ansible's filters and tests (unknown to a bare Environment).
        try:
            tree = _PARSER.parse(text)
        except jinja2.TemplateSyntaxError:
            _REFS[text] = None
        else:
            names = list(tree.find_all(jinja2.nodes.Name))
            bound = {n.name for n in names if n.ctx in ("store", "param")}
            _REFS[text] = frozenset(n.name for n in names if n.ctx == "load" and n.name not in bound)
    return _REFS[text]


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
