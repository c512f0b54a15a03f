#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: rearm runs entirely through its action plugin
# (plugins/action/rearm.py), which sends batches to the
# winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: rearm
short_description: Rearm Windows, Office or one SKU (new grace period, new client machine ID) and restart
version_added: 0.1.0
description:
  - Resets the grace period and the client machine ID (CMID) of Windows (C(ReArmWindows), as C(slmgr.vbs /rearm)),
    of Office (C(ReArmApp) with Office's application ID on Windows 8 and later, as C(slmgr.vbs /rearm-app);
    C(OSPPREARM.EXE), as C(ospp.vbs /rearm), for Office 2010 and for any Office on Windows 7 / Server 2008 R2), or
    of one SKU (C(ReArmSku), Windows 8 and later, as C(slmgr.vbs /rearm-sku)).
  - Windows' rearm takes effect at the next restart. The module orders the restart in the same batch, waits for
    WinRM to come back with a new boot time (C(Win32_OperatingSystem.LastBootUpTime)), then reads the state again,
    as microsoft.ad's modules handle their reboots.
  - A rearm uses up one of a few, so the module needs a condition. With O(cmids) it rearms only while the host still
    has one of those client machine IDs (clones found by the C(fleet_summary) filter); after the rearm the host has
    a new one, so a second run does nothing. With O(force=true) it rearms on every run, as before capturing an image.
  - Refused before anything is sent, with the reason, when the remaining rearm count (C(RemainingWindowsReArmCount),
    C(RemainingAppReArmCount), C(RemainingSkuReArmCount)) is 0, and when C(ReArmApp) / C(ReArmSku) is asked of
    Windows 7.
  - Two WinRM round trips and the restart when something is rearmed (the attempts made while the host restarts that
    reach it are counted in RV(round_trips)); one when nothing is to be done.
options:
  activation_id:
    description:
      - Rearm this one product (SKU) with C(ReArmSku), by its activation ID. Windows 8 / Server 2012 and later.
      - Mutually exclusive with O(product).
    type: str
    version_added: 0.1.0
  cmids:
    description:
      - Rearm only while the client machine ID of what is rearmed (the Software Licensing Service's, or OSPP's for
        Office there) is one of these; for clones, the CMID they share.
      - One of O(cmids) or O(force=true) is required.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  force:
    description:
      - Rearm on every run, without a CMID condition. Each run uses one rearm.
    type: bool
    default: false
    version_added: 0.1.0
  product:
    description:
      - V(windows) (default) rearms Windows, V(office) every Office found (OSPP and the Software Licensing Service).
      - Mutually exclusive with O(activation_id).
    type: str
    choices: [office, windows]
    version_added: 0.1.0
  restart:
    description:
      - Restart the host after the rearm and wait for it. Default true when Windows is rearmed (its rearm takes
        effect at the restart), false otherwise (Office's and a SKU's rearm take effect at once).
      - With V(false) after a Windows rearm, the new grace period and CMID appear only after a restart made some
        other way.
    type: bool
    version_added: 0.1.0
  restart_timeout:
    description:
      - Seconds to wait for the host to come back from the restart, at least 30.
    type: int
    default: 600
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details: Reads the host and reports what would be rearmed and whether it would restart; nothing is sent.
  diff_mode:
    details: The CMID and the remaining rearm count of each target, before and as expected after.
notes:
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target.
  - A rearm undoes the activation of what is rearmed. Activate again afterwards
    (M(winops.volume_activation.activation)); a KMS host then counts the host under its new CMID.
  - The Office Software Protection Platform shows no rearm count; when none is left, C(OSPPREARM.EXE) fails and the
    module reports its HRESULT. Office can be rearmed five times, once more after a KMS activation.
  - Do not start an Office application or C(ospp.vbs) between Office's rearm and the capture of an image, or the
    grace timer starts again.
seealso:
  - module: winops.volume_activation.activation
  - module: winops.volume_activation.license_info
  - name: slmgr.vbs options for volume activation
    description: The Windows switches this module replaces (/rearm, /rearm-app, /rearm-sku).
    link: https://learn.microsoft.com/windows-server/get-started/activation-slmgr-vbs-options
  - name: Rearm a volume licensed version of Office included in an operating system image
    description: Office's rearm, its five rearms and the CMID reset.
    link: https://learn.microsoft.com/office/volume-license-activation/rearm-an-office-installation-on-an-image-when-using-kms-to-activate
  - name: Duplicate client machine IDs
    description: Clones that share a CMID count once on a KMS host; rearm, restart and activate them again.
    link: https://learn.microsoft.com/troubleshoot/azure/virtual-machines/windows/windows-activation-duplicate-client-machine-id
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Rearm the clones that share one CMID (the second run does nothing)
  winops.volume_activation.rearm:
    cmids: ["{{ clone_cmid }}"]

- name: Rearm Office before capturing the image (Office 2010 on Windows 7 runs OSPPREARM.EXE)
  winops.volume_activation.rearm:
    product: office
    force: true

- name: Rearm one SKU without restarting
  winops.volume_activation.rearm:
    activation_id: 2d5a5a60-3040-48bf-beb0-fcd770c20ce0
    force: true
"""

RETURN = r"""
changes:
  description: What was done (or would be done in check mode), one sentence per operation.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["rearm Windows (RemainingWindowsReArmCount 1001 before)", "restart the host so that the rearm takes effect"]
restart:
  description: The restart, when one was made; null otherwise.
  returned: success
  version_added: 0.1.0
  type: dict
  contains:
    elapsed:
      description: Seconds from the restart order to the first read after it.
      type: float
      sample: 41.5
    attempts:
      description: Attempts to read the host while it restarted (the last one succeeded).
      type: int
      sample: 4
    boot_time:
      description: The host's new boot time (C(LastBootUpTime)), ISO 8601.
      type: str
      sample: "2026-11-01T09:05:00+00:00"
restarted:
  description: Whether the host was restarted.
  returned: success
  version_added: 0.1.0
  type: bool
  sample: true
round_trips:
  description: How many times the licensing executor ran on the host (1 when nothing was to be done, 2 plus the
    reads that reached the host while it restarted otherwise).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 3
targets:
  description: What was considered for rearm, one entry per target.
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  contains:
    scope:
      description: V(windows), V(office) (Software Licensing Service), V(office_ospp) (OSPP) or V(sku).
      type: str
      sample: windows
    target:
      description: What it is, in words.
      type: str
      sample: Windows
    method:
      description: V(ReArmWindows), V(ReArmApp), V(ReArmSku) or V(OSPPREARM).
      type: str
      sample: ReArmWindows
    action:
      description: V(rearmed) (or to be, in check mode) or V(unchanged).
      type: str
      sample: rearmed
    reason:
      description: Why it was left alone (null when rearmed).
      type: str
      sample: null
    cmid_before:
      description: The client machine ID before.
      type: str
      sample: 7c6d1a2b-0f2e-4a41-9e33-3a0a51e5e1c4
    cmid:
      description: The client machine ID read after the rearm (and the restart); null in check mode or when nothing
        was sent.
      type: str
      sample: 3f1e0c55-9b7a-4e0e-8b8e-6f2d9f0b1c21
    remaining_before:
      description: The remaining rearm count before (null where Windows shows none, OSPP).
      type: int
      sample: 1001
    remaining:
      description: The remaining rearm count read after (null in check mode, when nothing was sent, or for OSPP).
      type: int
      sample: 1000
"""
