# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.host_licensing (documentation in plugins/modules/host_licensing.py).

The parts are the fine-grained modules' own (``_parts``); how they share one read and one batch
is ``_hostplan``.
"""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _action, _hostplan, _parts


def _sub(part: type[_parts.Part], many: bool) -> dict[str, t.Any]:
    """The option of a part: its fine-grained module's options as suboptions."""
    spec: dict[str, t.Any] = {"type": "list", "elements": "dict", "default": []} if many else {"type": "dict"}
    spec["options"] = part.ARGUMENT_SPEC
    spec.update(part.ARGUMENT_SPEC_OPTIONS)
    return spec


class ActionModule(_action.LicensingAction):
    """A host's whole licensing state: one read (1 round trip), keys (1 more when they change),
    settings and activation (1 more when they change). ``validate_only`` contacts nothing."""

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        **{option: _sub(cls, many) for option, cls, many, _stage in _hostplan.PARTS},
        "validate_only": {"type": "bool", "default": False},
    }

    def _va_no_log_values(self, params: t.Mapping[str, t.Any]) -> list[str]:
        """The no_log suboptions of every part (product keys, confirmation IDs)."""
        values: list[str] = []
        for option, cls, many, _stage in _hostplan.PARTS:
            value = params.get(option)
            if value is None:
                continue
            for item in value if many else [value]:
                values.extend(cls.no_log_values(item))
        return values

    def _va_validate(self, ctx: _action.ActionContext) -> None:
        """Every part's options, as ``validate_only`` checks them (``validate_args`` of the roles)."""
        _hostplan.validate(_hostplan.build_parts(ctx.params, lambda sub: ctx, self._display.warning))

    def _va_run(self, ctx: _action.ActionContext) -> dict[str, t.Any]:
        def make_ctx(sub: dict[str, t.Any]) -> _action.ActionContext:
            return _action.ActionContext(params=sub, task_vars=ctx.task_vars, check_mode=ctx.check_mode,
                                         diff=ctx.diff, client=ctx.client, action_name=ctx.action_name)

        runs = _hostplan.build_parts(ctx.params, make_ctx, self._display.warning)
        _hostplan.validate(runs)
        if ctx.params["validate_only"]:
            return {"changed": False, "validated": [r.label for r in runs]}
        host = _hostplan.HostRun(runs, ctx.client, ctx.check_mode, ctx)
        host.run()
        return _hostplan.host_result(runs, host.info_state, ctx.diff)
