# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.product_key (documentation in plugins/modules/product_key.py).

The reading, planning and result of the module live in ``_parts.ProductKeyPart``, shared with
winops.volume_activation.host_licensing.
"""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _parts


class ActionModule(_parts.PartAction):
    """Install or remove a product key: read (1 round trip); install/uninstall + refresh + read back (1 more).

    Refusals (malformed key, a GVLK under another key_type, a KMS host key this machine cannot
    hold, a MAK-activated product about to become a KMS client) happen in ``_va_reader`` (no host
    contact) or ``_va_plan`` (after the read, before anything is sent); see ``_product_key``.
    """

    PART: t.ClassVar[type[_parts.Part]] = _parts.ProductKeyPart
