# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.license_info (documentation in plugins/modules/license_info.py).

The reading, planning and result of the module live in ``_parts.LicenseInfoPart``, shared with
winops.volume_activation.host_licensing.
"""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _parts


class ActionModule(_parts.PartAction):
    """Read-only: one round trip, the licensing state of the host."""

    PART: t.ClassVar[type[_parts.Part]] = _parts.LicenseInfoPart
