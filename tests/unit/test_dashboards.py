"""The dashboards' one definition (ops/dashboards.yml) and what is generated from it: the committed
Grafana JSON is exactly what the generator writes (no drift), and the console pages are valid
templates for Prometheus (checked by rendering them in tests/integration/test_monitoring.py)."""
from __future__ import annotations

import json

import pytest

from hellohome.errors import ConfigError
from hellohome.monitoring import dashboards


def test_at_least_eight_dashboards_each_with_panels():
    defined = dashboards.load()
    assert len(defined) >= 8
    assert {"api", "search", "cdc", "kafka", "connect", "opensearch", "mariadb", "enrichment", "backups",
            "airflow"} <= set(defined)


def test_the_committed_grafana_json_is_what_the_definition_generates(tmp_path):
    defined = dashboards.load()
    written = dashboards.write_grafana(defined, tmp_path)
    committed = sorted(p.name for p in dashboards.GRAFANA_DIR.glob("*.json"))
    assert committed == sorted(p.name for p in written), "run `hellohome ops dashboards`"
    for path in written:
        assert json.loads(path.read_text()) == json.loads((dashboards.GRAFANA_DIR / path.name).read_text()), (
            f"{path.name} drifted from ops/dashboards.yml: run `hellohome ops dashboards`")


def test_every_panel_reaches_both_outputs():
    defined = dashboards.load()
    for key, dashboard in defined.items():
        grafana = dashboards.grafana(key, dashboard)
        page = dashboards.console_page(key, dashboard)
        assert [p["title"] for p in grafana["panels"]] == [p.title for p in dashboard.panels]
        for panel in dashboard.panels:
            for target in panel.targets:
                assert json.dumps(target.expr) in page


def test_a_legend_becomes_a_label_function_on_the_console_page():
    assert dashboards._legend_js("{{topic}} lag") == 'function(m) { return "" + (m["topic"] || \'\') + " lag"; }'
    assert dashboards._legend_js("") == "null"


def test_a_bad_definition_is_refused_naming_the_panel(tmp_path):
    bad = tmp_path / "dashboards.yml"
    bad.write_text("dashboards:\n  x:\n    title: X\n    panels:\n      - title: P\n        unit: furlongs\n"
                   "        targets: [{expr: up}]\n")
    with pytest.raises(ConfigError, match="panel 'P': unknown unit 'furlongs'"):
        dashboards.load(bad)
