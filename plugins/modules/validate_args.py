#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: validate_args runs entirely on the controller, in its
# action plugin (plugins/action/validate_args.py); it never contacts a host.

DOCUMENTATION = r"""
---
module: validate_args
short_description: Validate the options of this collection's modules for many hosts, on the controller
version_added: 0.1.0
description:
  - Checks module calls the way each module checks its own options before its first WinRM round trip - the
    argument specification, then the module's own validation (key shapes and types, ports and intervals,
    DNS names, firewall scopes, TSIG keys) - without contacting any host, and evaluates conditions.
  - Meant to run once per play, with C(run_once) and C(delegate_to localhost), before the first task that
    changes anything, so that a bad value for any host stops the play before any host changes. The roles
    C(kms_server) and C(kms_activation) start with it.
  - With O(checks_var), the variable of that name is templated once per host of O(hosts), with that host's
    own variables (host and group variables, role defaults, extra variables), so per-host values are
    checked although the task runs once.
  - Every problem of every host is reported in one message, one part per problem, each naming the host,
    the value and the cause, and the role variable behind the option when the check names it.
  - Product keys and no_log options never appear in the result.
options:
  checks:
    description:
      - The checks, already templated (for the host the task runs for).
      - "Each is either a module call - O(checks[].module), O(checks[].args), optionally
        O(checks[].variables) and O(checks[].when) - or a condition - O(checks[].that) and O(checks[].msg)."
      - Mutually exclusive with O(checks_var).
    type: list
    elements: dict
    suboptions:
      module:
        description: The module whose options are checked (short name).
        type: str
        choices: [activation, host_licensing, kms_client, kms_firewall, kms_host, kms_srv_record, license_info, product_key]
      args:
        description: The options of one call, or a list of them (one call each; none for an empty list).
        type: raw
      variables:
        description: Option name -> the role variable it comes from, named in the message.
        type: dict
      that:
        description: A condition that must be true.
        type: bool
      msg:
        description: The message when O(checks[].that) is false.
        type: str
      when:
        description: Skip the check when false.
        type: bool
        default: true
      skip_unresolved:
        description:
          - With O(checks_var), skip the check when it cannot be evaluated for a host (for example when it
            reads other hosts' variables that need a vault this run does not open), instead of reporting it.
        type: bool
        default: false
  checks_var:
    description:
      - The name of a variable holding the checks (as O(checks)), templated per host of O(hosts).
      - Mutually exclusive with O(checks).
    type: str
  hosts:
    description:
      - The inventory hosts whose variables are checked with O(checks_var), usually C(ansible_play_hosts).
      - Defaults to the host the task runs for.
    type: list
    elements: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details: Only validates; the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Runs on the controller; no host is contacted.
  action:
    details:
      - The action plugin does the whole job on the control node; no host is contacted.
notes:
  - Costs no WinRM round trip. The modules still validate their options again when they run.
seealso:
  - module: winops.volume_activation.product_key
  - module: winops.volume_activation.kms_host
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Check the options before any change, for every host of the play
  winops.volume_activation.validate_args:
    hosts: "{{ ansible_play_hosts }}"
    checks_var: my_checks
  run_once: true
  delegate_to: localhost
  vars:
    my_checks:
      - module: kms_host
        args: {port: "{{ kms_port }}"}
        variables: {port: kms_port}
      - that: "{{ kms_port | int != 3389 }}"
        msg: "kms_port must not be the RDP port"
"""

RETURN = r"""
checked:
  description: The number of checks evaluated, over all hosts.
  returned: always
  type: int
  sample: 14
errors:
  description: One entry per problem.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The host whose variables are refused.
      type: str
    index:
      description: The position of the check.
      type: int
    module:
      description: The module of a refused call (absent for a condition).
      type: str
    msg:
      description: The refusal, naming the value and the cause.
      type: str
"""
