# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Wait for a Windows host to come back after the executor's ``os_restart``.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

The pattern of microsoft.ad's ``_module_with_reboot`` and ansible.windows'
``plugin_utils/_reboot.py`` (read there, written here for this collection's batch
executor): the restart is ordered with a delay so that the order's own result comes
back; then the controller drops its connection and keeps trying one read batch, with
backoff, until ``Win32_OperatingSystem.LastBootUpTime`` differs from the one read
before the order. That read is the state after the restart. Attempts while the host is
down fail to connect and cost no round trip on the host; attempts that reach it do.

Logging (prefix ``winops.volume_activation.<action>: ``): ``-v`` the outcome with the time
it took; ``-vvv`` each attempt and why it did not count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
import typing as t

from . import _client

#: First wait after the order: the restart delay plus a margin (seconds).
FIRST_WAIT = 1.0
#: Backoff between attempts: start, factor, cap (seconds), jitter fraction.
BACKOFF_START = 1.0
BACKOFF_FACTOR = 1.5
BACKOFF_CAP = 10.0
JITTER = 0.2


class RestartTimeout(Exception):
    """The host did not come back (or did not restart) within the timeout."""


@dataclasses.dataclass
class RestartResult:
    """``results``: the read batch's results after the restart; ``elapsed`` seconds from the
    order to that read; ``attempts`` made (``round_trips`` of them reached the host)."""

    results: list[t.Mapping[str, t.Any]]
    elapsed: float
    attempts: int
    round_trips: int


def wait_for_restart(
    action: t.Any,
    client: _client.LicensingClient,
    read_ops: t.Sequence[t.Mapping[str, t.Any]],
    *,
    boot_time: t.Callable[[t.Sequence[t.Mapping[str, t.Any]]], dt.datetime | None],
    boot_before: dt.datetime | None,
    delay: float,
    timeout: float,
    sleep: t.Callable[[float], None] = time.sleep,
    clock: t.Callable[[], float] = time.monotonic,
) -> RestartResult:
    """Run ``read_ops`` until ``boot_time(results)`` is a boot later than ``boot_before``.

    ``action`` is the ActionBase (its ``_connection`` is reset before each attempt, since
    the old shell died with the host). Raises :class:`RestartTimeout` after ``timeout``
    seconds, naming the last reason.
    """
    start = clock()
    deadline = start + timeout
    wait = delay + FIRST_WAIT
    attempts = 0
    trips_before = client.round_trips
    last = "no attempt made"
    batch = _client.Batch()
    batch.extend(read_ops)
    while True:
        sleep(max(0.0, min(wait, deadline - clock())))
        attempts += 1
        try:
            reset = getattr(getattr(action, "_connection", None), "reset", None)
            if reset is not None:
                reset()
            results = client.run(batch, stop_on_error=False).raw()
            boot = boot_time(results)
            if boot is not None and (boot_before is None or boot > boot_before):
                elapsed = clock() - start
                client.log(1, f"the host is back after its restart ({elapsed:.1f} s, {attempts} attempt(s))")
                return RestartResult(list(results), elapsed, attempts, client.round_trips - trips_before)
            last = f"the host answered but has not restarted yet (last boot {boot})"
        except Exception as e:  # a host going down fails in many ways: refused, reset, timed out
            last = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".strip()
        client.log(3, f"waiting for the restart, attempt {attempts}: {last}")
        if clock() >= deadline:
            raise RestartTimeout(f"the host did not come back from its restart within {timeout:.0f} s ({last})")
        wait = min(BACKOFF_CAP, BACKOFF_START * BACKOFF_FACTOR ** (attempts - 1)) * (1 + random.uniform(-JITTER, JITTER))
