"""The alert rules in ops/prometheus/rules are valid, and behave as their promtool unit tests say
(series in, alerts with labels and annotations out, at given times)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

OPS = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def _promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("rules", sorted((OPS / "rules").glob("*.yml")), ids=lambda p: p.name)
def test_rules_are_valid_and_unit_tested(rules):
    checked = _promtool("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = OPS / "tests" / f"{rules.stem}_test.yml"
    assert tests.exists(), f"{rules.name} has no promtool unit tests ({tests})"
    tested = _promtool("test", "rules", str(tests))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_rendered_prometheus_config_is_valid(tmp_path):
    from hellohome.config import load_settings
    from hellohome.stack.prometheus import render_config

    config = tmp_path / "prometheus.yml"
    config.write_text(render_config(load_settings(stack_dir=tmp_path)))
    checked = _promtool("check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout and "rule files found" in checked.stdout


RUNBOOK = OPS.parents[1] / "docs" / "runbook.md"


def test_every_alert_links_a_runbook_section_that_exists():
    import re

    import yaml

    anchors = {re.sub(r"[^a-z0-9-]", "", h.strip().lower().replace(" ", "-"))
               for h in re.findall(r"^## (.+)$", RUNBOOK.read_text(), flags=re.M)}
    alerts = [rule for path in (OPS / "rules").glob("*.yml") for group in yaml.safe_load(path.read_text())["groups"]
              for rule in group["rules"] if "alert" in rule]
    assert len(alerts) >= 25
    for rule in alerts:
        url = rule["annotations"].get("runbook_url", "")
        assert url.startswith("docs/runbook.md#"), f"{rule['alert']}: no runbook_url"
        assert url.split("#", 1)[1] in anchors, f"{rule['alert']}: {url} has no section in docs/runbook.md"


def _alertmanager_config(tmp_path, **overrides):
    from hellohome.config import load_settings
    from hellohome.monitoring import alertmanager

    path = tmp_path / "alertmanager.yml"
    path.write_text(alertmanager.render(load_settings(**overrides)))
    return path


@pytest.mark.parametrize("receivers", [
    {},
    {"alert_webhook_url": "https://hooks.example.test/services/T/B/X",
     "alert_pagerduty_url": "https://events.pagerduty.com/v2/enqueue", "alert_pagerduty_routing_key": "R0UT1NG"},
], ids=["no-receivers", "webhook-and-pagerduty"])
def test_the_alertmanager_config_passes_amtool_and_routes_by_severity(tmp_path, receivers):
    config = _alertmanager_config(tmp_path, **receivers)
    amtool = shutil.which("amtool") or "/usr/bin/amtool"
    checked = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr

    def route(*labels):
        out = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config}", *labels],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    assert route("alertname=TargetDown", "severity=critical") == "pager,chat"
    assert route("alertname=TargetDown", "severity=warning") == "chat"
    if receivers:
        text = config.read_text()
        assert "pagerduty_configs" in text and "slack_configs" in text and "R0UT1NG" in text
