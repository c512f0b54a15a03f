#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: fleet_report runs entirely on the controller, through its
# action plugin (plugins/action/fleet_report.py); it never executes anything on a Windows host.

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Write the volume activation report of a fleet as JSON, CSV and HTML files
version_added: 0.1.0
description:
  - Writes, on the controller, into the directory O(dest), the fleet report that the
    C(winops.volume_activation.fleet_summary) filter computed from C(license_info) results.
  - C(report.json) follows a documented, versioned schema (C(schema) V(winops.volume_activation.fleet_report),
    C(schema_version) V(1); the collection's C(docs/fleet-report.md) describes every key and
    C(docs/fleet-report.schema.json) is its JSON Schema). It holds every host and product with its status,
    grace expiry, channel, partial product key, the KMS host used and the failure explained; the KMS hosts
    with their counts against the thresholds; the clone groups; the SRV records; and the problems, each with
    its next step.
  - C(report.csv) has one row per host and product, for spreadsheets and CMDBs (UTF-8 with a byte order mark,
    so that Excel shows Japanese names; cells that a spreadsheet would run as a formula are prefixed with C(')).
  - C(report.html) is one self-contained page (inline CSS, inline SVG charts, one inline script, and a
    Content-Security-Policy that forbids any network access). It shows a status overview per product family, a grace
    expiry timeline, each KMS host's count against its threshold, the clone groups and stale SRV records, the
    problems with their next steps, and a host table that can be filtered (also from the URL, C(#filter=words)).
  - Costs no WinRM round trip and holds no secret (a product key appears only as its last five characters).
  - Idempotent. When C(report.json) in O(dest) already reports the same fleet (its time of generation aside)
    and every requested file exists, nothing is written and RV(ignore:changed) is false.
options:
  dest:
    description:
      - The directory on the controller to write the files into. Created when missing.
      - A relative path is relative to the directory C(ansible-playbook) runs in.
      - The files are named C(report.json), C(report.csv) and C(report.html); each is replaced atomically.
    type: path
    required: true
    version_added: 0.1.0
  formats:
    description:
      - Which files to write.
    type: list
    elements: str
    choices: [json, csv, html]
    default: [json, csv, html]
    version_added: 0.1.0
  probes:
    description:
      - Optional M(winops.volume_activation.kms_probe) results, a mapping of inventory host name to the
        registered result. Each host's verdict and per-KMS-host checks are added to the host, and the verdict
        and its next step to that host's product problems.
      - Skipped results are ignored; a failed probe is shown as the verdict C(probe_failed).
    type: dict
    default: {}
    version_added: 0.1.0
  summary:
    description:
      - The output of the C(winops.volume_activation.fleet_summary) filter.
    type: dict
    required: true
    version_added: 0.1.0
  title:
    description:
      - The report's title, shown at the top of the HTML page and kept in C(report.json).
    type: str
    default: Volume activation report
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details: Computes the report and whether it would change, writes nothing.
  diff_mode:
    details: The diff is C(report.json) before and after.
  platform:
    platforms: posix
    details: Runs on the controller only; the inventory host is not contacted.
  action:
    details:
      - The action plugin does the whole job on the control node; no host is contacted.
notes:
  - Use it with C(run_once) (the report is of the whole fleet). It never connects to the host it runs for,
    so C(delegate_to) is not needed.
seealso:
  - module: winops.volume_activation.license_info
  - module: winops.volume_activation.kms_probe
  - name: The activation_report role
    description: Reads the fleet, summarises it and calls this module.
    link: https://github.com/winops/volume_activation/blob/main/roles/activation_report/README.md
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Read every host
  winops.volume_activation.license_info:
  register: info

- name: Write the fleet report
  winops.volume_activation.fleet_report:
    dest: "{{ playbook_dir }}/report"
    summary: "{{ hostvars | winops.volume_activation.fleet_summary(hosts=ansible_play_hosts_all, key='info') }}"
  run_once: true
  register: report

- name: Say where it is
  ansible.builtin.debug:
    msg: "Open {{ report.paths.html }}"
  run_once: true
"""

RETURN = r"""
dest:
  description: The directory the files are in (absolute).
  returned: always
  type: str
  sample: /srv/reports/activation
paths:
  description: Format -> absolute path of the file, for the formats requested.
  returned: always
  type: dict
  sample: {json: /srv/reports/activation/report.json, csv: /srv/reports/activation/report.csv,
           html: /srv/reports/activation/report.html}
schema:
  description: The name of the JSON document's schema.
  returned: always
  type: str
  sample: winops.volume_activation.fleet_report
schema_version:
  description: The version of the JSON document's schema.
  returned: always
  type: int
  sample: 1
generated_at:
  description:
    - When the report in O(dest) was generated (UTC, ISO 8601). When nothing changed, the time of the files
      already there.
  returned: always
  type: str
  sample: "2026-12-02T03:00:00+00:00"
totals:
  description: The fleet's totals, as the C(fleet_summary) filter counted them.
  returned: always
  type: dict
  sample: {hosts: 32, reachable: 32, windows_total: 32, windows_activated: 31, office_total: 19,
           office_activated: 19, kms_host_products: 4, clones: 0, srv_records: 3, stale_srv_records: 1,
           problems: 2}
problems:
  description: The number of problems in the report.
  returned: always
  type: int
  sample: 2
round_trips:
  description: WinRM round trips used, always 0 (the report is written on the controller).
  returned: always
  type: int
  sample: 0
"""
