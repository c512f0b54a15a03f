# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.license_info (documentation in plugins/modules/license_info.py)."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _action, _state
from ansible_collections.winops.volume_activation.plugins.plugin_utils._products import OFFICE_VERSIONS

_GUID_RE = re.compile(r"^\{?[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?$")


class ActionModule(_action.LicensingAction):
    """Read-only: one round trip, the licensing state of the host."""

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "activation_ids": {"type": "list", "elements": "str", "default": []},
        "application": {"type": "str", "default": "all", "choices": ["all", "office", "windows"]},
        "include_unlicensed": {"type": "bool", "default": False},
        "office_versions": {"type": "list", "elements": "str", "default": [], "choices": list(OFFICE_VERSIONS)},
    }

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        ids = [a.strip().strip("{}").lower() for a in ctx.params["activation_ids"]]
        bad = [a for a in ctx.params["activation_ids"] if not _GUID_RE.match(a.strip())]
        if bad:
            raise _action.LicensingActionError(
                f"Failed to read licensing products: activation_ids must be GUIDs, got {', '.join(map(repr, bad))}"
            )
        return _action.LicensingStateReader(
            _state.StateQuery(
                activation_ids=tuple(dict.fromkeys(ids)),
                include_unlicensed=ctx.params["include_unlicensed"],
                application=ctx.params["application"],
            )
        )

    def _va_result(
        self,
        ctx: _action.ActionContext,
        before: _state.HostState,
        after: _state.HostState | None,
        plan: _action.Plan,
    ) -> dict[str, t.Any]:
        state = before
        versions = set(ctx.params["office_versions"])
        products = [
            p
            for p in state.products
            if not versions or p.family not in ("office", "office2010") or p.office_version in versions
        ]
        filtered = _state.HostState(
            os=state.os,
            service=state.service,
            ospp_service=state.ospp_service,
            ospp_present=state.ospp_present,
            products=tuple(products),
            errors=state.errors,
        )
        out: dict[str, t.Any] = {
            "os": _state.os_dict(filtered),
            "service": _state.service_dict(state.service) if state.service else None,
            "ospp_service": _state.service_dict(state.ospp_service) if state.ospp_service else None,
            "products": [_state.product_dict(p) for p in products],
            "summary": _state.summary_dict(filtered),
        }
        if state.errors:
            out["warnings"] = [f"Failed to query {cls}: {d.get('message')}" for cls, d in state.errors]
        return out
