"""Unit tests of the fleet report writer (plugin_utils/_report.py) and its action plugin.

report.json is validated against the published JSON Schema (docs/fleet-report.schema.json);
report.csv is read back with the csv module; report.html is parsed with html.parser here
(the rendered page is checked in a real browser by tests/integration/test_report_browser.py).
"""

from __future__ import annotations

import csv
import datetime as _dt
import html.parser
import io
import json
import os
import pathlib
import typing as t
from unittest import mock

import jsonschema
import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.winops.volume_activation.plugins.action import fleet_report
from ansible_collections.winops.volume_activation.plugins.filter import fleet_summary as fs
from ansible_collections.winops.volume_activation.plugins.plugin_utils import _report

ROOT = pathlib.Path(__file__).resolve().parents[4]
#: A small fleet in license_info's documented shape, with Japanese host and product names.
FLEET = json.loads((ROOT / "tests" / "unit" / "test_data" / "report" / "fleet.json").read_text(encoding="utf-8"))
JA_HOST, JA_PRODUCT, PROBE, SRV = FLEET["ja_host"], FLEET["ja_product"], FLEET["probe"], FLEET["srv_records"]


def results() -> dict[str, t.Any]:
    return t.cast(dict[str, t.Any], json.loads(json.dumps(FLEET["results"])))


SCHEMA = json.loads((ROOT / "docs" / "fleet-report.schema.json").read_text(encoding="utf-8"))
WHEN = _dt.datetime(2026, 12, 2, 3, 0, tzinfo=_dt.timezone.utc)


def summary() -> dict[str, t.Any]:
    return fs.summarize(results(), srv_records=SRV)


def doc(**kwargs: t.Any) -> dict[str, t.Any]:
    return _report.build(summary(), kwargs.pop("probes", {JA_HOST: PROBE}), generated_at=WHEN, **kwargs)


def test_json_validates_against_the_published_schema() -> None:
    data = json.loads(_report.render_json(doc()))
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(data)
    assert SCHEMA["properties"]["schema_version"]["const"] == _report.SCHEMA_VERSION == data["schema_version"]
    assert SCHEMA["properties"]["schema"]["const"] == _report.SCHEMA_NAME


@pytest.mark.parametrize(("path", "value"), [
    (("schema_version",), 2),
    (("hosts", 1, "products", 0, "partial_product_key"), "XXXXX-XXXXX-XXXXX-XXXXX-3V66T"),
    (("totals", "problems"), -1),
    (("srv_records", 0, "status"), "fine"),
])
def test_schema_refuses_what_version_1_does_not_allow(path: tuple[t.Any, ...], value: t.Any) -> None:
    data = json.loads(_report.render_json(doc()))
    node = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_json_holds_every_host_product_and_problem_with_next_steps() -> None:
    data = doc()
    assert [h["host"] for h in data["hosts"]] == sorted(results())
    ja = next(h for h in data["hosts"] if h["host"] == JA_HOST)
    office = next(p for p in ja["products"] if p["family"] == "office2010")
    assert office == {**office, "product": JA_PRODUCT, "status": "initial_grace", "grace_days": 14,
                      "partial_product_key": "H4WMD", "reason_code": "0xC004F038",
                      "kms_host_used": "kms01.corp.example.test:1688", "channel": "kms_client"}
    assert office["next_step"].startswith("add clients until the host's current count reaches the threshold")
    assert ja["probe"]["verdict"] == "below_threshold" and ja["probe"]["hosts"][0]["rpc_bind"] == "accepted"
    problems = {(p["host"], p["status"]): p for p in data["problems"]}
    assert set(problems) == {(JA_HOST, "initial_grace"), ("down01", None), ("kms-old.corp.example.test",
                                                                            "stale_srv_record")}
    assert all(p["next_step"] for p in data["problems"])
    assert problems[(JA_HOST, "initial_grace")]["probe_verdict"] == "below_threshold"
    assert data["clones"] == [{"cmid": "cmid-clone", "source": "spp", "hosts": ["img01", "img02"]}]
    assert data["kms_hosts"][0]["current_count"] == 26 and data["kms_hosts"][0]["clients"] == [
        "img01", "img02", "ws01", JA_HOST]


def test_json_keeps_japanese_as_text() -> None:
    text = _report.render_json(doc())
    assert JA_HOST in text and JA_PRODUCT in text and "\\u" not in text


def test_no_full_product_key_in_any_file() -> None:
    data = doc()
    for fmt in _report.FORMATS:
        text = _report.render(data, fmt).decode("utf-8-sig")
        assert "XXXXX-" not in text and "3V66T" in text  # only the five characters Windows stores


def test_csv_has_one_row_per_host_and_product() -> None:
    raw = _report.render(doc(), "csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Japanese names right
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == _report.CSV_COLUMNS
    # kms01 1, down01 1 (the error), img01 1, img02 1, ws01 1, the Japanese host 2
    assert [(r["host"], r["product"]) for r in rows] == [
        ("down01", ""), ("img01", "Windows(R), Enterprise edition"), ("img02", "Windows(R), Enterprise edition"),
        ("kms01", "Windows(R), ServerStandard edition"), ("ws01", "Windows(R), Enterprise edition"),
        (JA_HOST, "Windows(R), Enterprise edition"), (JA_HOST, JA_PRODUCT)]
    ja = rows[-1]
    assert (ja["status"], ja["activated"], ja["grace_days"], ja["reason_code"], ja["probe_verdict"]) == (
        "initial_grace", "false", "14", "0xC004F038", "below_threshold")
    assert rows[0]["reachable"] == "false" and rows[0]["error"] == "unreachable: timed out"


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("@SUM(A1)", "'@SUM(A1)"), ("-2+3", "'-2+3"),
    ("ws01", "ws01"), (None, ""), (True, "true"), (14, 14),
])
def test_csv_cells_never_run_as_formulas(value: t.Any, cell: t.Any) -> None:
    assert _report._csv_cell(value) == cell


class _Page(html.parser.HTMLParser):
    """Collects tags with their attributes, and whether anything points outside the file."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def count(self, tag: str, cls: str | None = None) -> int:
        return sum(1 for name, a in self.tags if name == tag and (cls is None or cls in (a.get("class") or "").split()))


def test_html_is_self_contained_and_holds_every_section() -> None:
    page = _Page()
    page.feed(_report.render_html(doc()))
    external = [(n, a) for n, a in page.tags for k in ("src", "href") if a.get(k)]
    assert external == []  # nothing to fetch: no src, no href, no link, no CDN
    assert ("meta", {"charset": "utf-8"}) in page.tags
    csp = next(a["content"] for n, a in page.tags if n == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and csp.startswith("default-src 'none'")
    ids = {a.get("id") for _n, a in page.tags}
    assert {"status-chart", "grace-timeline", "kms-chart", "problems", "clones", "srv-records", "hosts",
            "host-filter"} <= ids
    assert page.count("tr", "problem") == 3
    assert page.count("tr", "host-row") == 7
    assert page.count("g", "kms-count") == 1
    assert page.count("g", "grace-item") == 5  # the four Windows clients and the Office in grace
    text = "".join(page.text)
    assert JA_HOST in text and JA_PRODUCT in text


def test_html_escapes_names() -> None:
    data = doc()
    data["hosts"][0]["host"] = "<script>alert(1)</script>"
    assert "<script>alert(1)" not in _report.render_html(data)


def test_status_overview_counts_hosts_per_family() -> None:
    assert _report.status_overview(doc()) == {"windows": {"licensed": 4}, "office2010": {"initial_grace": 1}}


def test_build_refuses_what_is_not_a_summary() -> None:
    with pytest.raises(_report.ReportError, match="the summary lacks hosts, kms_hosts"):
        _report.build({"totals": {}})


# ------------------------------------------------------------------ the action plugin


def action(args: dict[str, t.Any], *, check_mode: bool = False, diff: bool = False) -> fleet_report.ActionModule:
    task = mock.MagicMock()
    task.args, task.check_mode, task.diff, task.async_val = args, check_mode, diff, 0
    task.action = "winops.volume_activation.fleet_report"
    loader = mock.MagicMock()
    loader.path_dwim.side_effect = lambda p: p
    return fleet_report.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=loader, templar=None,
                                     shared_loader_obj=None)


def test_action_writes_then_changes_nothing_for_the_same_fleet(tmp_path: pathlib.Path) -> None:
    dest = tmp_path / "out"
    args = {"dest": str(dest), "summary": summary(), "probes": {JA_HOST: PROBE}}
    check = action(args, check_mode=True).run(task_vars={})
    assert check["changed"] and not dest.exists()
    first = action(args).run(task_vars={})
    assert first["changed"] and sorted(os.listdir(dest)) == ["report.csv", "report.html", "report.json"]
    assert first["paths"]["html"] == str(dest / "report.html") and first["problems"] == 3
    stamp = {p: (dest / p).stat().st_mtime_ns for p in os.listdir(dest)}
    again = action(args).run(task_vars={})
    assert not again["changed"] and again["generated_at"] == first["generated_at"]
    assert {p: (dest / p).stat().st_mtime_ns for p in os.listdir(dest)} == stamp
    changed = summary()
    changed["hosts"][0]["error"] = "unreachable: refused"
    diff = action({**args, "summary": changed}, diff=True).run(task_vars={})
    assert diff["changed"] and "unreachable: refused" in diff["diff"]["after"]
    assert "unreachable: refused" not in diff["diff"]["before"]


def test_action_writes_only_the_formats_asked(tmp_path: pathlib.Path) -> None:
    res = action({"dest": str(tmp_path), "summary": summary(), "formats": ["csv"]}).run(task_vars={})
    assert list(res["paths"]) == ["csv"] and os.listdir(tmp_path) == ["report.csv"]


@pytest.mark.parametrize(("args", "message"), [
    ({"summary": {"hosts": []}}, "the summary lacks kms_hosts"),
    ({"formats": []}, "formats is empty"),
    ({"dest": "FILE"}, "it exists and is not a directory"),
])
def test_action_errors_name_the_value_and_cause(tmp_path: pathlib.Path, args: dict[str, t.Any], message: str) -> None:
    (tmp_path / "file").write_text("x")
    full = {"dest": str(tmp_path / "out"), "summary": summary(), **args}
    if full["dest"] == "FILE":
        full["dest"] = str(tmp_path / "file")
    with pytest.raises(AnsibleActionFail, match=message) as err:
        action(full).run(task_vars={})
    assert "Failed to write the fleet report" in str(err.value)
