# Test-only callback: writes every task result as one JSON line, so the
# integration tests can assert on what each module returned per host.
from __future__ import annotations

import json
import os
import typing as t

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: record
type: aggregate
short_description: Write each task result as a JSON line (test helper)
description:
  - Appends one JSON object per task result to the file named by C(WINOPS_RECORD_FILE).
  - Used by the collection's integration tests only; not shipped.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self) -> None:
        super().__init__()
        self._path = os.environ.get("WINOPS_RECORD_FILE", "")

    def _write(self, status: str, result: t.Any) -> None:
        if not self._path:
            return
        task = result._task
        entry = {
            "host": result._host.get_name(),
            "task": task.get_name(),
            "action": task.action,
            "status": status,
            "result": result._result,
        }
        with open(self._path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._write("ok", result)

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._write("failed", result)

    def v2_runner_on_skipped(self, result: t.Any) -> None:
        self._write("skipped", result)

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._write("unreachable", result)
