# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every module of the collection shares (extends_documentation_fragment)."""

from __future__ import annotations


class ModuleDocFragment:
    """``winops.volume_activation.attributes``: use after ``ansible.builtin.action_common_attributes``
    and ``ansible.builtin.action_common_attributes.flow``, which describe the attributes.

    A module keeps only what is its own: the ``details`` of check_mode and diff_mode, and any
    attribute that differs (a module's own value wins over the fragment's, key by key).
    """

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: windows
  action:
    support: full
    details:
      - An action plugin on the control node validates the options, reads the host, plans the
        change and reports; the host runs one allow-listed PowerShell executor per WinRM round trip.
  async:
    support: none
  bypass_host_loop:
    support: none
"""
