# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The fleet report as files: ``report.json``, ``report.csv``, ``report.html``.

For internal collection use only: the interface may change without notice.

Pure Python, no Ansible import: :func:`build` turns the ``fleet_summary`` filter's output
(and optional ``kms_probe`` results) into the report document of schema version
:data:`SCHEMA_VERSION` (documented in ``docs/fleet-report.md``, JSON Schema in
``docs/fleet-report.schema.json``); :func:`render_json`, :func:`render_csv` and
:func:`render_html` turn the document into file contents. Nothing here reads a host:
the report costs no WinRM round trip beyond the ``license_info`` reads it summarises.

The document never holds a secret: products carry only the last five characters of
their key (``partial_product_key``, what Windows itself stores and shows).

The HTML file is self-contained: inline CSS, inline SVG charts and one inline script
(the host filter); a Content-Security-Policy meta element forbids every network
fetch, so the file opens the same from a mail attachment, a share or an air-gapped
machine. Japanese (or any) host and product names are written as UTF-8 text and the
page declares ``charset=utf-8``; the font list names the Japanese UI fonts of Windows
and the common Linux ones so the glyphs render wherever the file is opened.
"""

from __future__ import annotations

import csv
import datetime as _dt
import html
import io
import json
import typing as t

#: The report schema's name and version. Every change of the document's keys or of their meaning
#: makes a new version (2, 3...); docs/fleet-report.schema.json describes version 1 exactly.
SCHEMA_NAME = "winops.volume_activation.fleet_report"
SCHEMA_VERSION = 1

FORMATS = ("json", "csv", "html")
FILE_NAMES = {"json": "report.json", "csv": "report.csv", "html": "report.html"}

#: CSV columns, in order: one row per host and product (a host that could not be read has one
#: row with an empty product and the error).
CSV_COLUMNS = (
    "host", "reachable", "os", "kms_host", "product", "family", "version", "channel", "status", "activated",
    "partial_product_key", "grace_days", "grace_expires", "activated_by", "kms_host_used", "reason_code",
    "reason", "next_step", "probe_verdict", "error",
)

#: Status names in the order the overview shows them (license_info's license_status values).
STATUS_ORDER = ("licensed", "oob_grace", "ootb_grace", "initial_grace", "extended_grace", "non_genuine_grace",
                "notification", "unlicensed", "unknown")
STATUS_COLORS = {"licensed": "#2e7d32", "notification": "#c62828", "unlicensed": "#6d1b1b",
                 "unknown": "#757575"}
GRACE_COLOR = "#ef6c00"
FAMILY_LABELS = {"windows": "Windows", "office2010": "Office 2010", "office": "Office 2013 and later"}
#: How many grace entries the timeline draws (the soonest first); the host table lists all.
TIMELINE_LIMIT = 60


class ReportError(ValueError):
    """The input is not a fleet summary; the message names what is missing."""


def _product_rows(row: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    products = []
    if row.get("windows"):
        products.append({**row["windows"], "family": row["windows"].get("family") or "windows"})
    products.extend(dict(o) for o in row.get("office") or [])
    out = []
    for p in products:
        out.append({
            "product": p.get("name"), "family": p.get("family"), "version": p.get("version"),
            "activation_id": p.get("activation_id"), "channel": p.get("channel"),
            "status": p.get("status") or "unknown", "activated": bool(p.get("activated")),
            "partial_product_key": p.get("partial_product_key"), "grace_days": p.get("grace_days"),
            "grace_expires": p.get("grace_expires"), "activated_by": p.get("activated_by"),
            "kms_host_used": p.get("kms_host_used"), "reason_code": p.get("reason_code"),
            "reason": p.get("reason"), "next_step": p.get("next_step"),
        })
    return out


def _probe_view(probe: t.Any) -> dict[str, t.Any] | None:
    """The part of a kms_probe result the report keeps (no secret in it: names, ports, times)."""
    if not isinstance(probe, t.Mapping) or not probe or probe.get("skipped"):
        return None
    if probe.get("failed") or probe.get("unreachable"):
        return {"verdict": "probe_failed", "message": str(probe.get("msg") or "kms_probe failed"),
                "next_step": None, "source": None, "domain": None, "hosts": []}
    if "verdict" not in probe:
        return None  # not a kms_probe result (an empty default, say)
    return {
        "verdict": probe.get("verdict"), "message": probe.get("message"), "next_step": probe.get("next_step"),
        "source": probe.get("source"), "domain": probe.get("domain"),
        "hosts": [{k: h.get(k) for k in ("name", "port", "addresses", "resolved", "tcp_reachable", "rpc_bind",
                                         "latency_ms", "error")}
                  for h in probe.get("kms_hosts") or [] if isinstance(h, t.Mapping)],
    }


def build(summary: t.Mapping[str, t.Any], probes: t.Mapping[str, t.Any] | None = None, *,
          title: str = "Volume activation report", generated_at: _dt.datetime | None = None) -> dict[str, t.Any]:
    """The report document (schema :data:`SCHEMA_VERSION`) from a ``fleet_summary`` result.

    ``probes`` maps host -> ``kms_probe`` result; a host's probe verdict is attached to the
    host and, when it names a cause, to that host's problems as their next step. Raises
    :class:`ReportError` when ``summary`` lacks a key of the fleet summary.
    """
    missing = [k for k in ("hosts", "kms_hosts", "clones", "srv_records", "problems", "totals") if k not in summary]
    if missing:
        raise ReportError(f"the summary lacks {', '.join(missing)}: pass the output of the fleet_summary filter")
    probes = probes or {}
    when = (generated_at or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    hosts = []
    for row in summary["hosts"]:
        probe = _probe_view(probes.get(row["host"]))
        hosts.append({
            "host": row["host"], "reachable": bool(row.get("ok")), "error": row.get("error"), "os": row.get("os"),
            "is_kms_host": bool(row.get("is_kms_host")), "cmid": row.get("cmid"), "ospp_cmid": row.get("ospp_cmid"),
            "products": _product_rows(row), "probe": probe,
        })
    by_host = {h["host"]: h for h in hosts}
    problems = []
    for p in summary["problems"]:
        probe = (by_host.get(p.get("host")) or {}).get("probe")
        problems.append({
            "host": p.get("host"), "product": p.get("product"), "status": p.get("status"),
            "message": p.get("message"), "next_step": p.get("next_step"),
            "probe_verdict": probe["verdict"] if probe and p.get("product") else None,
            "probe_next_step": probe["next_step"] if probe and p.get("product") else None,
        })
    kms_keys = ("host", "product", "activation_id", "family", "office_version", "activated", "status",
                "current_count", "required_count", "threshold_met", "listening_port", "dns_publishing", "in_dns")
    kms_hosts = [{**{k: k_row.get(k) for k in kms_keys}, "clients": list(k_row.get("clients") or [])}
                 for k_row in summary["kms_hosts"]]
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "generated_at": when.isoformat(timespec="seconds"),
        "totals": dict(summary["totals"]),
        "hosts": hosts,
        "kms_hosts": kms_hosts,
        "clones": [dict(c) for c in summary["clones"]],
        "srv_records": [{k: r.get(k) for k in ("zone", "target", "port", "priority", "weight", "host", "addresses",
                                               "status", "message")} for r in summary["srv_records"]],
        "problems": problems,
    }


def same_content(a: t.Mapping[str, t.Any], b: t.Mapping[str, t.Any]) -> bool:
    """Whether two documents report the same fleet (``generated_at`` aside)."""
    return {k: v for k, v in a.items() if k != "generated_at"} == {k: v for k, v in b.items() if k != "generated_at"}


def render_json(doc: t.Mapping[str, t.Any]) -> str:
    """``report.json``: indented, keys in document order, non-ASCII kept as UTF-8 text."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _csv_cell(value: t.Any) -> t.Any:
    """A CSV cell; text that a spreadsheet would run as a formula (``=``, ``+``, ``@``, ``-`` and the
    control characters, as OWASP's CSV injection guidance lists them) is prefixed with ``'``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_rows(doc: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """The CSV rows as dicts over :data:`CSV_COLUMNS` (before cell escaping)."""
    rows = []
    for h in doc["hosts"]:
        base = {"host": h["host"], "reachable": h["reachable"], "os": h["os"], "kms_host": h["is_kms_host"],
                "probe_verdict": (h["probe"] or {}).get("verdict"), "error": h["error"]}
        if not h["products"]:
            rows.append({c: base.get(c) for c in CSV_COLUMNS})
        for p in h["products"]:
            rows.append({c: base[c] if c in base else p.get(c) for c in CSV_COLUMNS})
    return rows


def render_csv(doc: t.Mapping[str, t.Any]) -> str:
    """``report.csv``: a header row, then one row per host and product (RFC 4180 quoting, CRLF).

    Written with a UTF-8 byte order mark by the caller so that Excel reads Japanese names right.
    """
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in csv_rows(doc):
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return buf.getvalue()


# ----------------------------------------------------------------------------------- HTML

def _e(value: t.Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _status_color(status: str) -> str:
    return STATUS_COLORS.get(status, GRACE_COLOR)


def status_overview(doc: t.Mapping[str, t.Any]) -> dict[str, dict[str, int]]:
    """family -> status -> number of hosts with a product of that family in that status."""
    out: dict[str, dict[str, int]] = {}
    for h in doc["hosts"]:
        for p in h["products"]:
            if p["channel"] == "kms_host":
                continue
            fam = out.setdefault(str(p["family"] or "windows"), {})
            fam[p["status"]] = fam.get(p["status"], 0) + 1
    return out


def _svg_status(doc: t.Mapping[str, t.Any]) -> str:
    overview = status_overview(doc)
    if not overview:
        return '<p class="empty">No product was read.</p>'
    width, bar_h, gap, label_w = 720, 26, 14, 170
    height = len(overview) * (bar_h + gap) + 4
    parts = [f'<svg id="status-chart" role="img" aria-label="Hosts by status, per product family" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    order = list(FAMILY_LABELS)
    families = sorted(overview.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    for i, (family, counts) in enumerate(families):
        y = i * (bar_h + gap) + 4
        total = sum(counts.values())
        parts.append(f'<text x="0" y="{y + 18}" class="label">{_e(FAMILY_LABELS.get(family, family))} ({total})</text>')
        x = float(label_w)
        for status in sorted(counts, key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 99):
            n = counts[status]
            w = (width - label_w - 10) * n / total
            parts.append(f'<rect class="bar" data-family="{_e(family)}" data-status="{_e(status)}" data-count="{n}" '
                         f'x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{_status_color(status)}">'
                         f'<title>{_e(FAMILY_LABELS.get(family, family))}: {n} {_e(status)}</title></rect>')
            if w > 40:
                parts.append(f'<text x="{x + 5:.1f}" y="{y + 18}" class="inbar">{n} {_e(status)}</text>')
            x += w
    parts.append("</svg>")
    return "".join(parts)


def grace_items(doc: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """Products with a grace end, soonest first: who drops out of activation, and when."""
    items = [{"host": h["host"], "product": p["product"], "status": p["status"], "days": p["grace_days"],
              "expires": p["grace_expires"]}
             for h in doc["hosts"] for p in h["products"] if p["grace_days"] and p["channel"] != "kms_host"]
    return sorted(items, key=lambda i: (i["days"], i["host"]))


def _clip(text: str, limit: int = 46) -> str:
    """A chart label: at most ``limit`` characters (the full text is in the element's title)."""
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _svg_timeline(doc: t.Mapping[str, t.Any]) -> str:
    items = grace_items(doc)
    if not items:
        return '<p class="empty">No product is counting down a grace period.</p>'
    shown = items[:TIMELINE_LIMIT]
    horizon = max([180] + [int(i["days"]) for i in shown])
    width, row_h, label_w = 900, 18, 330
    scale = (width - label_w - 60) / horizon
    height = len(shown) * row_h + 40
    parts = [f'<svg id="grace-timeline" role="img" aria-label="Grace expiry timeline" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">']
    for day in range(0, horizon + 1, 30):
        x = label_w + day * scale
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 20}"/>'
                     f'<text class="axis" x="{x:.1f}" y="{height - 6}">{day} d</text>')
    for n, item in enumerate(shown):
        y = n * row_h + 2
        color = _status_color(item["status"]) if item["status"] != "licensed" else "#66bb6a"
        parts.append(
            f'<g class="grace-item" data-host="{_e(item["host"])}" data-days="{item["days"]}">'
            f'<text x="0" y="{y + 12}" class="label">{_e(_clip(item["host"] + ": " + str(item["product"])))}</text>'
            f'<rect x="{label_w}" y="{y}" width="{max(item["days"] * scale, 2):.1f}" height="{row_h - 5}" '
            f'fill="{color}"><title>{_e(item["host"])}: {_e(item["product"])}, {_e(item["status"])}, '
            f'{item["days"]} days left (until {_e(item["expires"])})</title></rect>'
            f'<text x="{label_w + item["days"] * scale + 4:.1f}" y="{y + 11}" class="axis">{item["days"]} d</text></g>')
    parts.append("</svg>")
    if len(items) > len(shown):
        parts.append(f'<p class="note">{len(items) - len(shown)} more, later; the host table lists every one.</p>')
    return "".join(parts)


def _svg_kms(doc: t.Mapping[str, t.Any]) -> str:
    entries = doc["kms_hosts"]
    if not entries:
        return '<p class="empty">No KMS host was found in the fleet.</p>'
    width, row_h, label_w = 900, 30, 380
    top = max([50] + [int(k["current_count"]) for k in entries if isinstance(k["current_count"], int)]
              + [int(k["required_count"] or 0) * 2 for k in entries])
    scale = (width - label_w - 90) / top
    height = len(entries) * row_h + 10
    parts = [f'<svg id="kms-chart" role="img" aria-label="KMS host counts against thresholds" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">']
    for n, k in enumerate(entries):
        y = n * row_h + 4
        current = k["current_count"] if isinstance(k["current_count"], int) and k["current_count"] > 0 else 0
        required = int(k["required_count"] or 0)
        color = "#2e7d32" if k["threshold_met"] else "#c62828"
        parts.append(
            f'<g class="kms-count" data-host="{_e(k["host"])}" data-current="{_e(k["current_count"])}" '
            f'data-required="{required}" data-met="{str(bool(k["threshold_met"])).lower()}">'
            f'<text x="0" y="{y + 15}" class="label">{_e(_clip(k["host"] + ": " + str(k["product"]), 52))}</text>'
            f'<rect class="count" x="{label_w}" y="{y}" width="{max(current * scale, 2):.1f}" height="20" '
            f'fill="{color}"><title>count {current} of the {required} needed</title></rect>'
            f'<line class="threshold" x1="{label_w + required * scale:.1f}" y1="{y - 2}" '
            f'x2="{label_w + required * scale:.1f}" y2="{y + 22}"/>'
            f'<text x="{label_w + max(current, required) * scale + 6:.1f}" y="{y + 15}" class="axis">'
            f'{current} / {required}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _table(table_id: str, headers: t.Sequence[str], rows: t.Iterable[tuple[str, t.Sequence[t.Any]]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(f"<tr{attrs}>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>" for attrs, cells in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """
body{font-family:"Segoe UI",Arial,"Liberation Sans","DejaVu Sans","Yu Gothic UI","Meiryo","Hiragino Sans",
"Noto Sans CJK JP","IPAPGothic","IPAGothic",sans-serif;margin:24px;color:#212121;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ccc}
.meta{color:#555;font-size:13px}.totals span{display:inline-block;margin:8px 16px 0 0;font-size:14px}
table{border-collapse:collapse;font-size:13px;margin-top:6px}th,td{border:1px solid #ddd;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f3f3f3}tr.bad td{background:#fdecea}
svg text{font-size:12px;fill:#212121}svg text.inbar{fill:#fff}svg .axis{fill:#666;font-size:11px}
svg line.tick{stroke:#eee}svg line.threshold{stroke:#212121;stroke-width:2;stroke-dasharray:3 2}
.empty,.note{color:#555;font-size:13px}#host-filter{font-size:14px;padding:4px;width:320px}
"""

# The host filter: a row stays visible when its text contains every word typed (case-insensitive).
# The URL fragment "#filter=<words>" pre-fills it, so a link can point at a subset of the fleet.
_SCRIPT = """
(function(){
var box=document.getElementById('host-filter');var rows=document.querySelectorAll('#hosts tbody tr');
var count=document.getElementById('host-count');
function apply(){var words=box.value.toLowerCase().split(/\\s+/).filter(Boolean);var shown=0;
rows.forEach(function(r){var text=r.textContent.toLowerCase();
var ok=words.every(function(w){return text.indexOf(w)>=0;});r.hidden=!ok;if(ok){shown++;}});
count.textContent=shown+' of '+rows.length+' rows';}
var m=/^#filter=(.*)$/.exec(location.hash);if(m){box.value=decodeURIComponent(m[1]);}
box.addEventListener('input',apply);apply();
})();
"""

#: No fetch of any kind: only the inline style and script of this file run.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def render_html(doc: t.Mapping[str, t.Any]) -> str:
    """``report.html``: one self-contained page (see the module docstring)."""
    tot = doc["totals"]
    totals = (f'<div class="totals"><span>{tot["hosts"]} hosts, {tot["reachable"]} read</span>'
              f'<span>Windows activated {tot["windows_activated"]}/{tot["windows_total"]}</span>'
              f'<span>Office activated {tot["office_activated"]}/{tot["office_total"]}</span>'
              f'<span>{tot["kms_host_products"]} KMS host product(s)</span><span>{tot["clones"]} clone group(s)</span>'
              f'<span>{tot.get("stale_srv_records", 0)} stale SRV record(s)</span>'
              f'<span id="problem-total">{tot["problems"]} problem(s)</span></div>')
    problems = _table("problems", ["Host", "Product", "Status", "Problem", "Next step", "KMS probe"], (
        (' class="problem bad"', [p["host"], p["product"], p["status"], p["message"],
                                  p["next_step"], " ".join(x for x in (p["probe_verdict"], p["probe_next_step"]) if x)])
        for p in doc["problems"])) if doc["problems"] else '<p class="empty" id="no-problems">No problem found.</p>'
    clones = _table("clones", ["CMID", "Platform", "Hosts"], (
        (' class="clone bad"', [c["cmid"], c["source"], ", ".join(c["hosts"])]) for c in doc["clones"])
    ) if doc["clones"] else '<p class="empty">No two hosts share a client machine ID.</p>'
    stale = [r for r in doc["srv_records"] if r["status"] == "stale"]
    srv = _table("srv-records", ["Zone", "Record", "Status", "Meaning"], (
        (' class="srv bad"' if r["status"] == "stale" else ' class="srv"',
         [r["zone"], f"{r['priority']} {r['weight']} {r['port']} {r['target']}", r["status"], r["message"]])
        for r in doc["srv_records"])) if doc["srv_records"] else '<p class="empty">DNS was not checked.</p>'
    host_rows = []
    for h in doc["hosts"]:
        probe = (h["probe"] or {}).get("verdict")
        if not h["products"]:
            host_rows.append((' class="host-row bad" data-status="error"',
                              [h["host"], h["os"], "", "", "error", "", "", "", h["error"], probe]))
        for p in h["products"]:
            bad = "" if p["activated"] else " bad"
            host_rows.append((f' class="host-row{bad}" data-status="{_e(p["status"])}"', [
                h["host"], h["os"], p["product"], p["channel"], p["status"], p["partial_product_key"],
                p["grace_days"], p["activated_by"] or p["kms_host_used"], p["reason"], probe]))
    hosts = _table("hosts", ["Host", "OS", "Product", "Channel", "Status", "Key (last 5)", "Grace (days)",
                             "KMS host", "Reason", "KMS probe"], host_rows)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="generator" content="{SCHEMA_NAME} {SCHEMA_VERSION}">'
        f"<title>{_e(doc['title'])}</title><style>{_CSS}</style></head><body>"
        f'<h1>{_e(doc["title"])}</h1><p class="meta">Generated {_e(doc["generated_at"])}; '
        f'schema {SCHEMA_NAME} version {SCHEMA_VERSION}</p>{totals}'
        f'<h2 id="overview">Status overview (hosts by status, per product family)</h2>{_svg_status(doc)}'
        f'<h2 id="grace">Grace expiry timeline (who drops out, and when)</h2>{_svg_timeline(doc)}'
        f'<h2 id="kms">KMS hosts: current count against the threshold</h2>{_svg_kms(doc)}'
        f'<h2 id="problem-list">Problems and next steps</h2>{problems}'
        f'<h2 id="clone-groups">Clone groups (one CMID shared; a KMS host counts them once)</h2>{clones}'
        f'<h2 id="srv">DNS SRV records (_vlmcs._tcp), {len(stale)} stale</h2>{srv}'
        '<h2 id="host-list">Hosts</h2><p><label>Filter: <input id="host-filter" type="search" '
        'placeholder="host, product, status..."></label> <span id="host-count"></span></p>'
        f"{hosts}<script>{_SCRIPT}</script></body></html>\n"
    )


def render(doc: t.Mapping[str, t.Any], fmt: str) -> bytes:
    """The bytes of the file of format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return render_json(doc).encode("utf-8")
    if fmt == "csv":
        return render_csv(doc).encode("utf-8-sig")
    if fmt == "html":
        return render_html(doc).encode("utf-8")
    raise ReportError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
