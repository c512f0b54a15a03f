# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``kms_port_probe`` lookup: whether a KMS host's TCP port answers the controller, and if not, how."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: kms_port_probe
short_description: Probe the TCP port of a KMS host from the controller
version_added: 0.1.0
description:
  - Opens a TCP connection from the Ansible control node to each host given, on O(port), and tells
    apart the three answers a KMS host's port can give - V(open) (the Key Management Service
    listens), V(refused) (the host answered with a reset, so it is up but nothing listens on the
    port - the Software Protection service is stopped, the host is not an activated KMS host, or it
    listens on another port) and V(timeout) (no answer at all - a firewall drops the connection, or
    the host is off). V(unresolved) when the name does not resolve.
  - A refused connection is tried again until O(timeout) has passed, so a service that is starting
    is given the time to listen.
  - Sends nothing after the connection is made and closes it at once; no WinRM connection is made.
options:
  _terms:
    description: The KMS hosts, as names or addresses.
    type: list
    elements: str
    required: true
  port:
    description: The TCP port.
    type: int
    default: 1688
  timeout:
    description: Seconds to wait in all, per host.
    type: float
    default: 10
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Probe the KMS port of kms01
  ansible.builtin.debug:
    msg: "{{ lookup('winops.volume_activation.kms_port_probe', 'kms01.corp.example.com', port=1688) }}"
"""

RETURN = r"""
_raw:
  description: One dictionary per host given.
  type: list
  elements: dict
  contains:
    host:
      description: The host as given.
      type: str
    port:
      description: The port probed.
      type: int
    state:
      description: V(open), V(refused), V(timeout) or V(unresolved).
      type: str
    seconds:
      description: How long the probe took.
      type: float
    error:
      description: The operating system's error for a port that is not open, else an empty string.
      type: str
"""

import errno
import socket
import time
import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

#: Pause between two attempts on a refused port.
RETRY_PAUSE = 0.5


def probe(host: str, port: int, timeout: float) -> dict[str, t.Any]:
    """Probe ``host:port``; see DOCUMENTATION for the states."""
    start = time.monotonic()
    deadline = start + timeout
    state, error = "timeout", ""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.create_connection((host, port), timeout=left):
                state, error = "open", ""
                break
        except socket.gaierror as e:
            state, error = "unresolved", str(e)
            break
        except ConnectionRefusedError as e:
            state, error = "refused", str(e)
            time.sleep(min(RETRY_PAUSE, max(deadline - time.monotonic(), 0)))
        except TimeoutError as e:
            state, error = "timeout", str(e) or "timed out"
            break
        except OSError as e:
            # EHOSTUNREACH/ENETUNREACH: nothing answers on the way; counted with "no answer".
            state = "refused" if e.errno == errno.ECONNREFUSED else "timeout"
            error = str(e)
            if state == "timeout":
                break
    return {"host": host, "port": port, "state": state, "seconds": round(time.monotonic() - start, 3),
            "error": error}


class LookupModule(LookupBase):
    def run(self, terms: list[t.Any], variables: dict[str, t.Any] | None = None, **kwargs: t.Any) -> list[t.Any]:
        self.set_options(var_options=variables, direct=kwargs)
        port = int(self.get_option("port"))
        timeout = float(self.get_option("timeout"))
        if not 1 <= port <= 65535:
            raise AnsibleLookupError(f"kms_port_probe: port {port} is outside 1..65535")
        if not 0 < timeout <= 3600:
            raise AnsibleLookupError(f"kms_port_probe: timeout {timeout} is outside 0..3600 seconds")
        return [probe(str(term), port, timeout) for term in terms]
