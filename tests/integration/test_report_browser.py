"""The fleet report files opened in a real browser (headless Chromium), and written by the report
playbook against the lab.

Checked in the rendered DOM (``--dump-dom``, after the page's own script ran): the numbers of host
rows, problem rows and chart elements match report.json, Japanese host and product names are there
as text, the host filter (pre-filled from the URL fragment) hides the other rows. A screenshot is
checked for its size in pixels and bytes, and for ink and colour (the charts are drawn).
report.json is validated against docs/fleet-report.schema.json; report.csv is read back.
"""

from __future__ import annotations

import csv
import html.parser
import importlib
import io
import json
import pathlib
import re
import sys
import typing as t

import jsonschema
import pytest

from .browser import CHROMIUM, dump_dom, png_info, screenshot
from .conftest import COLLECTIONS, ROOT, Ansible, LabHandle

# The collection's own (pure Python) report code renders the page for the browser-only tests; the
# playbook test below runs it through ansible-playbook. conftest.py links the checkout there.
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
fs = importlib.import_module("ansible_collections.winops.volume_activation.plugins.filter.fleet_summary")
_report = importlib.import_module("ansible_collections.winops.volume_activation.plugins.plugin_utils._report")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")

SCHEMA = json.loads((ROOT / "docs" / "fleet-report.schema.json").read_text(encoding="utf-8"))
FLEET = json.loads((ROOT / "tests" / "unit" / "test_data" / "report" / "fleet.json").read_text(encoding="utf-8"))
REPORT = ROOT / "playbooks" / "report.yml"


class Dom(html.parser.HTMLParser):
    """The rendered DOM: elements with attributes, and the text under each element with an id."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[tuple[dict[str, str | None], list[str]]] = []
        self._row: list[str] | None = None
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "tr":
            self._row = []
            self.rows.append((a, self._row))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row is not None:
            self._row.append(data)

    def count(self, tag: str, cls: str) -> int:
        return sum(1 for name, a in self.elements if name == tag and cls in (a.get("class") or "").split())

    def visible_rows(self, cls: str) -> list[str]:
        return [" ".join(cells) for a, cells in self.rows if cls in (a.get("class") or "").split()
                and "hidden" not in a]


def write_report(tmp: pathlib.Path) -> tuple[pathlib.Path, dict[str, t.Any]]:
    summary = fs.summarize(FLEET["results"], srv_records=FLEET["srv_records"])
    doc = json.loads(_report.render_json(_report.build(summary, {FLEET["ja_host"]: FLEET["probe"]})))
    page = tmp / "report.html"
    page.write_bytes(_report.render(doc, "html"))
    return page, doc


def check_dom(dom: Dom, doc: t.Mapping[str, t.Any]) -> None:
    products = sum(max(len(h["products"]), 1) for h in doc["hosts"])
    assert dom.count("tr", "host-row") == products
    assert dom.count("tr", "problem") == len(doc["problems"])
    assert dom.count("g", "kms-count") == len(doc["kms_hosts"])
    assert dom.count("g", "grace-item") == min(len(_report.grace_items(doc)), _report.TIMELINE_LIMIT)
    bars = [a for n, a in dom.elements if n == "rect" and "bar" in (a.get("class") or "").split()]
    overview = _report.status_overview(doc)
    assert {(a["data-family"], a["data-status"], int(a["data-count"] or 0)) for a in bars} == {
        (f, s, n) for f, counts in overview.items() for s, n in counts.items()}
    # The filter script ran: every row shown, and it says so.
    count = re.search(r'id="host-count">(\d+) of (\d+) rows<', "".join(dom.rawdata if hasattr(dom, "rawdata")
                                                                       else ""))
    assert count is None or count.group(1) == count.group(2)


def test_report_html_renders_in_chromium(tmp_path: pathlib.Path) -> None:
    page, doc = write_report(tmp_path)
    text = dump_dom(page)
    dom = Dom(text)
    check_dom(dom, doc)
    assert f'<span id="host-count">{7} of {7} rows</span>' in text  # the inline script ran
    assert len(dom.visible_rows("problem")) == 3
    # Japanese names as text, through the browser's UTF-8 decoding of the file.
    assert FLEET["ja_host"] in text and FLEET["ja_product"] in text
    problem = next(r for r in dom.visible_rows("problem") if FLEET["ja_host"] in r)
    assert "0xC004F038" in problem and "add clients until" in problem and "below_threshold" in problem


def test_the_host_filter_from_the_url_hides_other_rows(tmp_path: pathlib.Path) -> None:
    page, _doc = write_report(tmp_path)
    dom = Dom(dump_dom(page, "#filter=" + "経理%20initial"))
    assert [r.split()[0] for r in dom.visible_rows("host-row")] == [FLEET["ja_host"]]
    assert dom.count("tr", "host-row") == 7  # the others are there, hidden


def test_report_screenshot(tmp_path: pathlib.Path) -> None:
    page, _doc = write_report(tmp_path)
    shot = png_info(screenshot(page, tmp_path / "report.png", 1000, 1400))
    assert (shot.width, shot.height) == (1000, 1400)
    assert 20_000 < shot.size < 5_000_000, shot
    assert shot.inked > 40_000, shot  # text, tables and charts, not a blank page
    assert shot.colored > 5_000, shot  # the status bars and the KMS count bar are coloured


def test_blank_page_screenshot_is_told_apart(tmp_path: pathlib.Path) -> None:
    """The screenshot checks can fail: an empty page has no ink."""
    page = tmp_path / "blank.html"
    page.write_text("<!DOCTYPE html><html><body></body></html>")
    shot = png_info(screenshot(page, tmp_path / "blank.png", 400, 300))
    assert (shot.width, shot.height, shot.inked, shot.colored) == (400, 300, 0, 0)


def test_report_playbook_writes_the_files_in_one_read_per_host(lab: LabHandle, ansible: Ansible,
                                                               tmp_path: pathlib.Path) -> None:
    hosts = ["kms01", "ws01", "ws02"]
    marks = {h: lab.log_mark(h) for h in hosts}
    dest = tmp_path / "report"
    run = ansible.run(REPORT, lab, extra_vars={"activation_report_dest": str(dest), "activation_report_probe": False})
    assert run.rc == 0, run.stdout[-5000:]
    assert all(lab.round_trips(h, since=marks[h]) == 1 for h in hosts)
    written = run.result("winops.volume_activation.activation_report : Write the report files (report.json, "
                         "report.csv, report.html) on the controller", "kms01")
    assert written["changed"] and written["paths"] == {f: str(dest / f"report.{f}") for f in ("json", "csv", "html")}
    shown = run.result("winops.volume_activation.activation_report : Print where the report files are", "kms01")
    assert shown["msg"] == list(written["paths"].values())

    doc = json.loads((dest / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)
    # The independent read: the lab's own model of each host.
    for host in doc["hosts"]:
        state = lab.lab.host_state(host["host"])
        keyed = {p["name"]: p for p in state["products"] if p["partial_product_key"]}
        assert host["cmid"] == state["cmid"]
        for p in host["products"]:
            assert p["partial_product_key"] == keyed[p["product"]]["partial_product_key"]
            assert p["activated"] is keyed[p["product"]]["activated"]
    rows = list(csv.DictReader(io.StringIO((dest / "report.csv").read_text(encoding="utf-8-sig"), newline="")))
    assert len(rows) == sum(len(h["products"]) for h in doc["hosts"]) and {r["host"] for r in rows} == set(hosts)
    check_dom(Dom(dump_dom(dest / "report.html")), doc)

    again = ansible.run(REPORT, lab, extra_vars={"activation_report_dest": str(dest), "activation_report_probe": False})
    assert again.rc == 0, again.stdout[-5000:]
    second = again.result("winops.volume_activation.activation_report : Write the report files (report.json, "
                          "report.csv, report.html) on the controller", "kms01")
    assert second["changed"] is False and second["generated_at"] == doc["generated_at"]


def test_the_host_level_result_is_reused_without_a_read(lab: LabHandle, ansible: Ansible,
                                                        tmp_path: pathlib.Path) -> None:
    """A host whose ``volume_activation_host_result.license_info`` is known (the host-level module's
    result; a license_info result stands in for it here) is not read again by the report."""
    marks = {h: lab.log_mark(h) for h in ("kms01", "ws01", "ws02")}
    run = ansible.run(f"""
- hosts: ws01
  gather_facts: false
  tasks:
    - name: The host-level read
      winops.volume_activation.license_info:
      register: host_info
    - name: Stand in for the host-level module's result
      ansible.builtin.set_fact:
        volume_activation_host_result: "{{{{ {{'changed': false, 'license_info': host_info}} }}}}"
- import_playbook: {REPORT}
""", lab, extra_vars={"activation_report_dest": str(tmp_path), "activation_report_probe": False})
    assert run.rc == 0, run.stdout[-5000:]
    assert {h: lab.round_trips(h, since=m) for h, m in marks.items()} == {"kms01": 1, "ws01": 1, "ws02": 1}
    # report.yml reads in a play of only the hosts whose state is not known: ws01 is not in it at all.
    task = ("winops.volume_activation.activation_report : Read the licensing state of the host "
            "(unless the host-level module already returned it)")
    assert {r["host"]: r["status"] for r in run.records if r["task"] == task} == {"kms01": "ok", "ws02": "ok"}
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [h["reachable"] for h in doc["hosts"]] == [True, True, True]


def test_report_probes_the_clients_that_are_not_activated(lab: LabHandle, ansible: Ansible,
                                                          tmp_path: pathlib.Path) -> None:
    """kms01 becomes an activated KMS host, then a firewall blocks its port: the clients cannot
    activate. The report playbook probes them (one more round trip each, none on the activated
    KMS host) and the files say why: the port is closed, with the next step."""
    setup = ansible.run("""
- hosts: kms01
  gather_facts: false
  tasks:
    - name: Host key
      winops.volume_activation.product_key: {key: "{{ csvlk }}", key_type: kms_host, product: windows}
      no_log: true
    - name: Activate
      winops.volume_activation.activation: {product: windows}
    - name: Open the KMS port
      winops.volume_activation.kms_firewall:
""", lab, extra_vars={"csvlk": "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"})
    assert setup.rc == 0, setup.stdout[-4000:]
    lab.lab.fault("kms01", "kms_port_closed")
    marks = {h: lab.log_mark(h) for h in ("kms01", "ws01", "ws02")}
    run = ansible.run(REPORT, lab, extra_vars={"activation_report_dest": str(tmp_path)})
    assert run.rc == 0, run.stdout[-5000:]
    assert {h: lab.round_trips(h, since=m) for h, m in marks.items()} == {"kms01": 1, "ws01": 2, "ws02": 2}
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    probes = {h["host"]: h["probe"] for h in doc["hosts"]}
    assert probes["kms01"] is None
    for client in ("ws01", "ws02"):
        probe = probes[client]
        assert probe is not None and probe["verdict"] == "port_closed", probe
        # Turned away at once: a reset during or just after the TCP handshake (the lab's stand-in for a drop).
        tried = probe["hosts"][0]
        assert tried["name"].startswith("kms01.") and "reset" in (tried["error"] or ""), probe
    problem = next(p for p in doc["problems"] if p["host"] == "ws01" and p["product"])
    assert problem["probe_verdict"] == "port_closed" and problem["probe_next_step"].startswith("open the KMS port")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text(encoding="utf-8-sig"), newline="")))
    assert {r["host"]: r["probe_verdict"] for r in rows} == {"kms01": "", "ws01": "port_closed", "ws02": "port_closed"}
    dom = Dom(dump_dom(tmp_path / "report.html"))
    assert any("port_closed open the KMS port" in r for r in dom.visible_rows("problem"))
