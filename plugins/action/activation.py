# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.activation (documentation in plugins/modules/activation.py).

The reading, planning and result of the module live in ``_parts.ActivationPart``, shared with
winops.volume_activation.host_licensing.
"""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _parts


class ActionModule(_parts.PartAction):
    """Activate now or by phone: read (1 round trip); Activate/Deposit + refresh + read back (1 more).

    Every product is tried (``stop_on_error`` false) and gets its own outcome; the task fails
    when a product failed, or waits below the KMS threshold with ``fail_below_threshold``.
    """

    PART: t.ClassVar[type[_parts.Part]] = _parts.ActivationPart
