"""The migration report as one self-contained HTML page: no script, no remote resource, every
value escaped; a strict Content-Security-Policy says so to the browser too."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from ecluse.packages.states import PackageState

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1d2430}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ccd;
padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}th{background:#eef}
.ok{color:#106b2b}.warn{color:#9a5b00}.bad{color:#a11}code{font-size:.85rem}
"""


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return f"<code>{escape(json.dumps(value, ensure_ascii=False, sort_keys=True))}</code>"
    return escape(str(value))


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>" if body else "<p>None.</p>"


def _pairs(items: dict[str, Any]) -> str:
    return _table(("", ""), items.items())


def _findings(extraction: dict[str, Any]) -> str:
    f = extraction.get("findings") or {}
    parts = [
        _pairs(
            {
                "rows read": f.get("rows_read"),
                "rows in scope": f.get("rows_in_scope"),
                "rows left out of scope": f.get("rows_out_of_scope"),
            }
        ),
        _table(
            ("column dropped", "why"), [(d["column"], d["reason"]) for d in f.get("dropped", [])]
        ),
        _table(("field", "transform"), list(f.get("transforms", {}).items())),
        _table(("free text screened", "found"), list(f.get("screening", {}).items())),
        _table(
            ("field", "formula-like cells neutralised (prefixed with ')"),
            list(f.get("neutralised", {}).items()),
        ),
        _table(
            ("field", "values left blank: no unambiguous date"),
            list(f.get("blanked", {}).items()),
        ),
    ]
    if (f.get("volume") or {}).get("below_expected"):
        parts.insert(0, '<p class="warn">Far fewer rows than instructed were packaged.</p>')
    return "".join(parts)


def _volume(volume: dict[str, Any]) -> str:
    """The rows of all runs against the instruction's bounds; far below them is flagged."""
    rows = (
        f"{volume['rows_packaged']:,} rows in scope packaged by {volume['runs_counted']} of "
        f"{volume['runs_allowed']} run(s) allowed; instructed {volume['expected_rows']:,} "
        f"± {volume['tolerance_percent']} %: at least {volume['rows_minimum']:,}, "
        f"at most {volume['rows_allowed']:,}."
    )
    if volume["below_expected"]:
        return f'<p class="bad">Far below expected: {escape(rows)}</p>'
    return f"<p>{escape(rows)}</p>"


def _status(report: dict[str, Any]) -> str:
    if report["sign_off"]:
        s = report["sign_off"]
        return f'<p class="ok">Closed: signed off by {escape(s["by"])} on {escape(s["at"])}.</p>'
    live = [p for p in report["packages"] if p["state"] != PackageState.SHREDDED]
    if live:
        return f'<p class="warn">Open: {len(live)} package(s) not yet shredded.</p>'
    return '<p class="warn">Open: awaiting the sign-off of a dpo of the controller.</p>'


def _mandate(report: dict[str, Any]) -> list[str]:
    """The agreement, the instruction, its volume and its recipient."""
    a, i, r = report["agreement"], report["instruction"], report["recipient"]
    parties = {
        "id": a["id"],
        "controller": a["controller"]["name"],
        "processor": a["processor"]["name"],
        "terms sha256": a["terms_sha256"],
    }
    return [
        "<h2>Agreement (GDPR Art. 28)</h2>",
        _pairs(parties),
        _table(
            ("party", "signed by", "at"), [(s["party"], s["by"], s["at"]) for s in a["signatures"]]
        ),
        "<h2>Instruction (GDPR Art. 29)</h2>",
        _pairs({k: v for k, v in i.items() if k != "content"}),
        _pairs(i["content"]),
        "<h2>Volume</h2>",
        _volume(report["volume"]),
        "<h2>Recipient</h2>",
        _pairs({"organisation": r["name"]}),
        _table(
            ("key fingerprint", "label", "revoked"),
            [(k["fingerprint"], k["label"], k["revoked"]) for k in r["keys"]],
        ),
    ]


def _passage(report: dict[str, Any]) -> list[str]:
    """The extractions with their findings, the packages with their downloads."""
    sections = ["<h2>Extractions</h2>"]
    for e in report["extractions"]:
        sections += [_pairs({k: v for k, v in e.items() if k != "findings"}), _findings(e)]
    sections.append("<h2>Packages</h2>")
    for p in report["packages"]:
        downloads = [(d["by"], d["at"], d["bytes"]) for d in p["downloads"]]
        sections += [
            _pairs({k: v for k, v in p.items() if k != "downloads"}),
            _table(("downloaded by", "at", "bytes"), downloads),
        ]
    return sections


def _trail(report: dict[str, Any]) -> list[str]:
    """The alerts, the audit events and the checkpoint covering them, the sign-off."""
    alerts = [
        (x["kind"], x["severity"], x["state"], x["created_at"], x["details"])
        for x in report["alerts"]
    ]
    events = [(e["seq"], e["ts"], e["actor"], e["action"]) for e in report["audit"]["events"]]
    sections = [
        "<h2>Alerts</h2>",
        _table(("kind", "severity", "state", "raised", "details"), alerts),
        "<h2>Audit trail</h2>",
        _pairs({"signed checkpoint covering it": report["audit"]["checkpoint"]}),
        _table(("seq", "time", "actor", "action"), events),
    ]
    if report["sign_off"]:
        sections += ["<h2>Sign-off</h2>", _pairs(report["sign_off"])]
    return sections


def render(report: dict[str, Any]) -> str:
    i = report["instruction"]
    sections = [
        f"<h1>Migration report — instruction {escape(i['id'])}</h1>",
        _status(report),
        *_mandate(report),
        *_passage(report),
        *_trail(report),
    ]
    return page(f"Écluse migration report {i['id']}", sections)


def page(title: str, sections: Sequence[str]) -> str:
    """A self-contained page around already-escaped sections."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style>"
        f"</head><body>{''.join(sections)}</body></html>\n"
    )


table, pairs = _table, _pairs  # for the other reports
