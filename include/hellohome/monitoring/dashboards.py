"""Dashboards from their one definition (ops/dashboards.yml): Grafana JSON for docker-compose's
provisioned Grafana, and Prometheus console pages for the local stack (no Grafana server can be
installed here). Both come from the same panels, so they cannot drift; a test compares the
committed JSON with what this module generates."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from hellohome.errors import ConfigError

OPS = Path(__file__).resolve().parents[3] / "ops"
DEFINITION = OPS / "dashboards.yml"
GRAFANA_DIR = OPS / "grafana" / "dashboards"
# the console library that loads Prometheus's console JS/CSS (Debian ships it as an example)
PROM_LIB = Path("/usr/share/doc/prometheus/examples/console_libraries/prom.lib")
STATIC = Path("/usr/share/prometheus/web/static")  # what Prometheus serves at /classic/static
STATIC_REF = re.compile(r'<(?:script|link)[^>]*(?:src|href)="\{\{ pathPrefix \}\}/classic/static/([^"]+)"[^>]*>(?:</script>)?\n?')
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # provisioned under this uid (ops/grafana)
# Grafana unit -> (what the console page prints after values, its number formatter)
CONSOLE_UNITS = {"s": ("s", "humanizeNoSmallPrefix"), "ms": ("ms", "humanizeNoSmallPrefix"),
                 "h": ("h", "humanizeNoSmallPrefix"), "percent": ("%", "humanizeNoSmallPrefix"),
                 "percentunit": ("ratio", "humanizeNoSmallPrefix"), "bytes": ("B", "humanize1024"),
                 "Bps": ("B/s", "humanize1024"), "reqps": ("req/s", "humanizeNoSmallPrefix"),
                 "ops": ("/s", "humanizeNoSmallPrefix"), "short": ("", "humanizeNoSmallPrefix")}
LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class Target(BaseModel):
    expr: str = Field(min_length=1)
    legend: str = ""


class Panel(BaseModel):
    title: str
    unit: str = "short"
    targets: list[Target] = Field(min_length=1)


class Dashboard(BaseModel):
    title: str
    panels: list[Panel] = Field(min_length=1)


def load(path: Path = DEFINITION) -> dict[str, Dashboard]:
    raw = yaml.safe_load(path.read_text())["dashboards"]
    dashboards = {key: Dashboard.model_validate(value) for key, value in raw.items()}
    for key, dashboard in dashboards.items():
        for panel in dashboard.panels:
            if panel.unit not in CONSOLE_UNITS:
                raise ConfigError(f"{path}: dashboard {key!r}, panel {panel.title!r}: unknown unit {panel.unit!r}; "
                                  f"use one of {', '.join(CONSOLE_UNITS)}")
            for target in panel.targets:
                if "{{" in target.expr or "}}" in target.expr:  # would break the Go template of the console page
                    raise ConfigError(f"{path}: dashboard {key!r}, panel {panel.title!r}: '{{{{' or '}}}}' in an expression")
    return dashboards


def expressions(dashboards: dict[str, Dashboard]) -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expression) for every query of every panel."""
    return [(key, panel.title, target.expr) for key, d in dashboards.items() for panel in d.panels
            for target in panel.targets]


def grafana(key: str, dashboard: Dashboard) -> dict:
    panels = []
    for i, panel in enumerate(dashboard.panels):
        panels.append({
            "id": i + 1, "type": "timeseries", "title": panel.title, "datasource": DATASOURCE,
            "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
            "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
            "targets": [{"refId": chr(ord("A") + j), "datasource": DATASOURCE, "expr": t.expr,
                         "legendFormat": t.legend or "__auto"} for j, t in enumerate(panel.targets)],
        })
    return {"uid": f"hellohome-{key}", "title": f"HelloHome · {dashboard.title}", "tags": ["hellohome"],
            "timezone": "utc", "schemaVersion": 39, "version": 1, "editable": False, "refresh": "30s",
            "time": {"from": "now-1h", "to": "now"}, "panels": panels}


def write_grafana(dashboards: dict[str, Dashboard], out: Path = GRAFANA_DIR) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key, dashboard in dashboards.items():
        path = out / f"{key}.json"
        path.write_text(json.dumps(grafana(key, dashboard), indent=2) + "\n")
        written.append(path)
    return written


def _legend_js(legend: str) -> str:
    """Grafana's legend format as a JS function of the series' labels ("{{topic}} lag" ->
    labels.topic + " lag"); empty: the console library names lines itself."""
    if not legend:
        return "null"
    parts, at = [], 0
    for match in LEGEND_LABEL.finditer(legend):
        parts += [json.dumps(legend[at:match.start()]), f"(m[{json.dumps(match.group(1))}] || '')"]
        at = match.end()
    parts.append(json.dumps(legend[at:]))
    return "function(m) { return " + " + ".join(parts) + "; }"


def console_page(key: str, dashboard: Dashboard) -> str:
    body = [f'{{{{ template "head" . }}}}\n{{{{ template "prom_content_head" . }}}}\n'
            f'<h1>HelloHome · {dashboard.title}</h1>\n'
            '<p class="text-muted">Generated from ops/dashboards.yml (the Grafana dashboards come from the same file).</p>']
    for i, panel in enumerate(dashboard.panels):
        units, formatter = CONSOLE_UNITS[panel.unit]
        body.append(f'<h3>{panel.title}</h3>\n<div id="panel{i + 1}" class="hh-panel"></div>\n<script>\n'
                    f'new PromConsole.Graph({{\n  node: document.querySelector("#panel{i + 1}"),\n'
                    f'  expr: {json.dumps([t.expr for t in panel.targets])},\n'
                    f'  name: [{", ".join(_legend_js(t.legend) for t in panel.targets)}],\n'
                    f'  yUnits: {json.dumps(units)},\n'
                    f'  yAxisFormatter: PromConsole.NumberFormatter.{formatter},\n'
                    f'  yHoverFormatter: PromConsole.NumberFormatter.{formatter},\n'
                    f'  renderer: "line"\n}});\n</script>')
    body.append('{{ template "prom_content_tail" . }}\n{{ template "tail" }}\n')
    return "\n".join(body)


def prom_library(text: str) -> str:
    """Debian's prom.lib, pointed at the files its packages really install: popper.js is a folder
    there (the UMD build inside it is the script), and a script no package ships is left out
    rather than answered with a 404 on every page."""
    text = text.replace("/classic/static/popper.js\"", "/classic/static/popper.js/umd/popper.min.js\"")
    return STATIC_REF.sub(lambda m: m.group(0) if (STATIC / m.group(1)).is_file() else "", text)


def menu_library(dashboards: dict[str, Dashboard]) -> str:
    """The navbar every console page includes (prom.lib's "head" expects "navbar" and "menu"):
    one link per dashboard, then Prometheus's alerts and targets."""
    items = "\n".join(f'      <li class="nav-item"><a class="nav-link" href="{{{{ pathPrefix }}}}/consoles/{key}.html">'
                      f'{d.title}</a></li>' for key, d in dashboards.items())
    return f"""{{{{/* generated by hellohome.monitoring.dashboards from ops/dashboards.yml */}}}}
{{{{ define "navbar" }}}}
<nav class="navbar fixed-top navbar-expand navbar-dark bg-dark flex-wrap">
  <a class="navbar-brand" href="{{{{ pathPrefix }}}}/consoles/index.html">HelloHome</a>
  <ul class="navbar-nav flex-wrap">
{items}
      <li class="nav-item"><a class="nav-link" href="{{{{ pathPrefix }}}}/alerts">Alerts</a></li>
      <li class="nav-item"><a class="nav-link" href="{{{{ pathPrefix }}}}/targets">Targets</a></li>
  </ul>
</nav>
<div style="height: 5.5rem"></div>
{{{{ end }}}}
{{{{ define "menu" }}}}{{{{ end }}}}
"""


def index_page(dashboards: dict[str, Dashboard]) -> str:
    rows = "\n".join(f'<li><a href="{{{{ pathPrefix }}}}/consoles/{key}.html">{d.title}</a> ({len(d.panels)} panels)</li>'
                     for key, d in dashboards.items())
    return (f'{{{{ template "head" . }}}}\n{{{{ template "prom_content_head" . }}}}\n<h1>HelloHome dashboards</h1>\n'
            f'<ul>\n{rows}\n</ul>\n{{{{ template "prom_content_tail" . }}}}\n{{{{ template "tail" }}}}\n')


def write_consoles(dashboards: dict[str, Dashboard], consoles: Path, libraries: Path) -> list[Path]:
    """The console pages and their libraries, for Prometheus's --web.console.templates/.libraries."""
    if not PROM_LIB.exists():
        raise ConfigError(f"{PROM_LIB} not found: Debian's prometheus package ships it (make bootstrap)")
    for d in (consoles, libraries):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    (libraries / "prom.lib").write_text(prom_library(PROM_LIB.read_text()))
    (libraries / "menu.lib").write_text(menu_library(dashboards))
    pages = [consoles / "index.html"]
    pages[0].write_text(index_page(dashboards))
    for key, dashboard in dashboards.items():
        pages.append(consoles / f"{key}.html")
        pages[-1].write_text(console_page(key, dashboard))
    return pages
