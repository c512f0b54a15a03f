# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters ``mask_product_key``, ``explain_hresult`` and ``gvlk`` (documented in the sidecar .yml files).

Thin wrappers over the engine's tables in plugins/plugin_utils (_keys, _errors, _products),
so a playbook shows keys and HRESULTs exactly as the modules do.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _errors, _keys, _products


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
        return {"mask_product_key": mask_product_key, "explain_hresult": explain_hresult, "gvlk": gvlk}
