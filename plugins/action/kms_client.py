# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.kms_client (documentation in plugins/modules/kms_client.py).

The reading, planning and result of the module live in ``_parts.KmsClientPart``, shared with
winops.volume_activation.host_licensing.
"""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _parts


class ActionModule(_parts.PartAction):
    """KMS client settings of one product family: read (1 round trip), apply + read back (1 more)."""

    PART: t.ClassVar[type[_parts.Part]] = _parts.KmsClientPart
