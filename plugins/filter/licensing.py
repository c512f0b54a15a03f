# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters ``mask_product_key``, ``explain_hresult``, ``gvlk`` and ``pending_hosts`` (documented in the sidecar
.yml files).

Thin wrappers over the engine's tables in plugins/plugin_utils (_keys, _errors, _products),
so a playbook shows keys and HRESULTs exactly as the modules do.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _activation,
    _errors,
    _keys,
    _products,
)


def mask_product_key(value: t.Any) -> str | None:
    """``XXXXX-XXXXX-XXXXX-XXXXX-<last 5>`` for a key or partial key; see _keys.mask_product_key."""
    if value is None:
        return None
    return _keys.mask_product_key(str(value))


def explain_hresult(value: t.Any, output: str = "message") -> t.Any:
    """``0xC004F038 (SL_E_VL_NOT_ENOUGH_COUNT): ...`` (``output='message'``) or the whole description dict."""
    try:
        code = _errors.to_code(value)
    except ValueError as e:
        raise AnsibleFilterError(f"explain_hresult: {e}") from e
    if output == "message":
        return _errors.explain(code)
    if output == "dict":
        return _errors.describe(code)
    raise AnsibleFilterError(f"explain_hresult: output must be 'message' or 'dict', got {output!r}")


def pending_hosts(hostvars: t.Any, hosts: t.Any, *, pending: t.Any = True, unknown: t.Any = False,
                  counted: t.Any = None, result: str = "volume_activation_host_result") -> list[str]:
    """The hosts of ``hosts`` (in order) whose last host_licensing result (the variable ``result``)
    counts an activation outcome other than activated (``pending``), or that have no state to reuse
    (``unknown``: no result with license_info, or a failed one); then the hosts of ``counted`` (KMS
    hosts, whose counts move while their clients activate) when any host of ``hosts`` activated a
    product in this run."""
    for name, value in (("hosts", hosts), ("counted", counted if counted is not None else [])):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise AnsibleFilterError(f"pending_hosts: {name} must be a list of inventory host names, got {value!r}")
    out: list[str] = []
    activated = False
    for host in hosts:
        try:
            value = hostvars[host].get(result)
        except KeyError:
            raise AnsibleFilterError(f"pending_hosts: host '{host}' is not in the inventory") from None
        if not isinstance(value, t.Mapping):
            value = {}
        if boolean(unknown, strict=False) and ("license_info" not in value or value.get("failed")):
            out.append(str(host))
            continue
        activation = value.get("activation")
        summary = activation.get("summary") if isinstance(activation, t.Mapping) else None
        if isinstance(summary, t.Mapping):
            activated = activated or bool({"activated", "confirmation_deposited"} & set(summary))
            if boolean(pending, strict=False) and set(summary) - _activation.ACTIVATED_OUTCOMES:
                out.append(str(host))
    if activated:
        out.extend(str(h) for h in counted or [] if str(h) not in out)
    return out


def gvlk(product: t.Any) -> str:
    """The public KMS client setup key for a product named as Microsoft's tables name it."""
    row = _products.find_gvlk(str(product))
    if row is None:
        raise AnsibleFilterError(
            f"gvlk: no public KMS client setup key is known for {product!r}; use the product name as "
            "Microsoft's GVLK tables write it, e.g. 'Windows Server 2022 Standard' or "
            "'Office LTSC Professional Plus 2021'"
        )
    return row.key


class FilterModule:
    """Volume activation filters."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"mask_product_key": mask_product_key, "explain_hresult": explain_hresult, "gvlk": gvlk,
                "pending_hosts": pending_hosts}
