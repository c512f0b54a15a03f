# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.fleet_report (documentation in plugins/modules/fleet_report.py).

Runs on the controller only: it never executes a module on the inventory host, so the report
costs no WinRM round trip. The document is built by ``plugin_utils/_report.py``; this plugin
validates the arguments, compares with the files already there (idempotence: the same fleet
writes nothing, whatever the time), and writes atomically (temporary file, fsync, rename).
"""

from __future__ import annotations

import json
import os
import tempfile
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _report


class ActionModule(ActionBase):
    """Write report.json, report.csv and report.html of a fleet summary into a controller directory."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "dest": {"type": "path", "required": True},
        "formats": {"type": "list", "elements": "str", "default": list(_report.FORMATS),
                    "choices": list(_report.FORMATS)},
        "probes": {"type": "dict", "default": {}},
        "summary": {"type": "dict", "required": True},
        "title": {"type": "str", "default": "Volume activation report"},
    }

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        if not params["formats"]:
            raise AnsibleActionFail("Failed to write the fleet report: formats is empty, name at least one of "
                                    + ", ".join(_report.FORMATS))
        # type=path has expanded ~ and environment variables; relative to where ansible-playbook runs.
        dest = os.path.abspath(params["dest"])
        try:
            # Through JSON once, so that the comparison with the file on disk compares like with like.
            doc = json.loads(_report.render_json(_report.build(params["summary"], params["probes"],
                                                               title=params["title"])))
        except (_report.ReportError, TypeError, AttributeError, KeyError) as e:
            raise AnsibleActionFail(f"Failed to write the fleet report to '{dest}': {e}") from e
        if os.path.exists(dest) and not os.path.isdir(dest):
            raise AnsibleActionFail(f"Failed to write the fleet report to '{dest}': it exists and is not a directory")
        formats = list(dict.fromkeys(params["formats"]))
        paths = {fmt: os.path.join(dest, _report.FILE_NAMES[fmt]) for fmt in formats}
        before = self._previous(paths.get("json") or os.path.join(dest, _report.FILE_NAMES["json"]))
        unchanged = (before is not None and _report.same_content(before, doc)
                     and all(os.path.isfile(p) for p in paths.values()))
        if unchanged and before is not None:
            doc = {**doc, "generated_at": before["generated_at"]}  # the files on disk stay as they are
        result.update(
            changed=not unchanged,
            dest=dest,
            paths=paths,
            schema=_report.SCHEMA_NAME,
            schema_version=_report.SCHEMA_VERSION,
            generated_at=doc["generated_at"],
            totals=doc["totals"],
            problems=len(doc["problems"]),
            round_trips=0,  # the controller only: no module runs on any host
        )
        if self._task.diff:
            result["diff"] = {
                "before_header": paths.get("json", dest), "after_header": paths.get("json", dest),
                "before": _report.render_json(before) if before is not None else "",
                "after": _report.render_json(doc),
            }
        if unchanged or self._task.check_mode:
            return result
        try:
            os.makedirs(dest, exist_ok=True)
            for fmt, path in paths.items():
                self._write(path, _report.render(doc, fmt))
        except OSError as e:
            raise AnsibleActionFail(f"Failed to write the fleet report to '{dest}': {e.strerror or e}") from e
        return result

    @staticmethod
    def _previous(path: str) -> dict[str, t.Any] | None:
        """The report.json already at ``path`` when it is one of this schema version, else None."""
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("schema") != _report.SCHEMA_NAME \
                or doc.get("schema_version") != _report.SCHEMA_VERSION or "generated_at" not in doc:
            return None
        return doc

    @staticmethod
    def _write(path: str, data: bytes) -> None:
        """Atomic replace: a reader sees the old file or the new one, never half of one."""
        fd, tmp = tempfile.mkstemp(prefix=".report-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
