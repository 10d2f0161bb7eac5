"""The supervisors' page of the service's figures: one layout for the desk's signed-in page
and the static HTML report (tooling/kpi_report.py), so the two cannot drift apart.

The page holds no figures of its own: static/supervisor.js draws the tiles, the plotly.js
charts and the failure clusters, either from the desk's /api/supervisor/* routes (the desk)
or from the figures embedded in the page as a JSON data block (the static report). Every
value from outside is escaped here and set with textContent in the script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from clients.analytics import KpiFilters
from services.desk.models import SKILLS

STATIC_DIR = Path(__file__).resolve().parent / "static"
# What the page shows when no period is asked for: the last 30 days, today included.
DEFAULT_PERIOD_DAYS = 30
PRODUCT_LINES = tuple(sorted(SKILLS))
# The channels of credentials.yml and credentials.messaging.yml as the analytics store names
# them (UserUttered.input_channel).
CHANNELS = ("rest", "socketio", "telegram", "slack", "facebook")
PLOTLY_PATH = "/console/vendor/plotly.min.js"

TILES = (
    ("self-service", "Self-service"),
    ("fcr", "First-contact resolution"),
    ("csat", "Satisfaction (CSAT)"),
    ("escalation", "Escalation"),
    ("fallback", "Fallback"),
    ("sessions", "Sessions"),
)
CHARTS = (
    ("trend", "Day by day"),
    ("lines", "By product line"),
    ("channels", "By channel"),
    ("satisfaction", "Satisfaction ratings"),
    ("escalations", "Why customers reached a person"),
    ("abandonment", "Where customers gave up"),
)


def default_filters(today: date, line: str | None = None, channel: str | None = None) -> KpiFilters:
    return KpiFilters(
        start=today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), end=today, line=line, channel=channel
    )


@lru_cache(maxsize=1)
def plotly_bundle() -> tuple[str, bytes]:
    """plotly.js as shipped inside the plotly package (no CDN), with its version."""
    # Imported here: only the page's script route and the report need it.
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    return get_plotlyjs_version(), get_plotlyjs().encode("utf-8")


@dataclass(frozen=True)
class Report:
    """The figures of a static report: embedded, since a file has no server to ask."""

    kpis: dict[str, Any]
    failures: dict[str, Any]
    nlu_draft: str


def _options(values: tuple[str, ...], chosen: str | None, everything: str) -> str:
    options = [f'<option value="">{escape(everything)}</option>']
    for value in values:
        selected = " selected" if value == chosen else ""
        options.append(f'<option value="{escape(value)}"{selected}>{escape(value)}</option>')
    return "".join(options)


def _filter_form(filters: KpiFilters, editable: bool) -> str:
    disabled = "" if editable else " disabled"
    start = filters.start.isoformat() if filters.start else ""
    end = filters.end.isoformat() if filters.end else ""
    apply = '<button type="submit" data-testid="apply-filters">Show</button>' if editable else ""
    return f"""<form class="filters" id="filters" data-testid="filters">
<label>From <input type="date" name="start" value="{escape(start)}"{disabled}></label>
<label>To <input type="date" name="end" value="{escape(end)}"{disabled}></label>
<label>Line <select name="line"{disabled}>{_options(PRODUCT_LINES, filters.line, "every line")}
</select></label>
<label>Channel <select name="channel"{disabled}>
{_options(CHANNELS, filters.channel, "every channel")}</select></label>
{apply}
</form>"""


def _body(filters: KpiFilters, header: str, editable: bool) -> str:
    tiles = "\n".join(
        f'<div class="tile" data-testid="tile-{key}"><span class="tile-value" id="tile-{key}">'
        f'–</span><span class="tile-name">{escape(name)}</span>'
        f'<span class="tile-note" id="tile-{key}-note"></span></div>'
        for key, name in TILES
    )
    charts = "\n".join(
        f'<figure class="chart-box"><figcaption>{escape(title)}</figcaption>'
        f'<div class="chart" id="chart-{key}" data-testid="chart-{key}"></div></figure>'
        for key, title in CHARTS
    )
    return f"""{header}
<p class="flash" id="flash" role="status" hidden></p>
<main class="figures">
{_filter_form(filters, editable)}
<p class="period" id="period" data-testid="period"></p>
<section class="tiles" data-testid="tiles">
{tiles}
</section>
<section class="charts">
{charts}
</section>
<section class="clusters" data-testid="failure-clusters">
<header class="clusters-head"><h2>What we failed to serve</h2>
<a id="download-nlu" data-testid="download-nlu" download="draft-nlu.yml" href="#">Download draft
NLU</a></header>
<p class="note">The customers' own words (masked) that ended in a fallback, out of scope, an
abandoned flow or a handoff, grouped by meaning, largest group first.</p>
<table><thead><tr><th>#</th><th>What customers asked</th><th>Messages</th><th>Ended in</th>
<th>Examples</th></tr></thead><tbody id="clusters"></tbody></table>
</section>
</main>"""


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{head}
</head>
<body class="supervisor-page">
{body}
{scripts}
</body>
</html>
"""


def desk_page(filters: KpiFilters, supervisor_name: str) -> str:
    """The signed-in page in the desk: figures fetched from the desk's API."""
    version, _ = plotly_bundle()
    header = f"""<header class="top">
<h1>Service figures</h1>
<span class="who">{escape(supervisor_name)}</span>
<a href="/console">Console</a>
<form method="post" action="/console/logout"><button type="submit">Sign out</button></form>
</header>"""
    return PAGE.format(
        title="Agent desk: service figures",
        head=(
            '<link rel="stylesheet" href="/console/static/console.css">\n'
            '<link rel="stylesheet" href="/console/static/supervisor.css">'
        ),
        body=_body(filters, header, editable=True),
        scripts=(
            f'<script src="{PLOTLY_PATH}?v={escape(version)}"></script>\n'
            '<script src="/console/static/supervisor.js"></script>'
        ),
    )


def _inline_script(source: str) -> str:
    # "</script" inside a script would end it early; "<\/" reads the same to JavaScript.
    return "<script>" + source.replace("</script", "<\\/script") + "</script>"


def static_page(filters: KpiFilters, report: Report) -> str:
    """The same page as one self-contained file: styles, plotly.js, the page's script and its
    figures all inside."""
    _, plotly = plotly_bundle()
    styles = "\n".join(
        (STATIC_DIR / name).read_text(encoding="utf-8")
        for name in ("console.css", "supervisor.css")
    )
    data = {"kpis": report.kpis, "failures": report.failures, "nlu_draft": report.nlu_draft}
    # Inside a data block "<" is escaped so no text in the figures can close it.
    data_block = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    header = '<header class="top"><h1>Service figures</h1></header>'
    return PAGE.format(
        title="Service figures",
        head=f"<style>\n{styles}\n</style>",
        body=_body(filters, header, editable=False),
        scripts="\n".join(
            [
                f'<script type="application/json" id="report-data">{data_block}</script>',
                _inline_script(plotly.decode("utf-8")),
                _inline_script((STATIC_DIR / "supervisor.js").read_text(encoding="utf-8")),
            ]
        ),
    )
