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
    import string

    from hellohome.stack.prometheus import CONFIG_TEMPLATE, RULES_DIR

    config = tmp_path / "prometheus.yml"
    config.write_text(string.Template(CONFIG_TEMPLATE.read_text()).substitute(
        prometheus_port=9090, targets_dir=tmp_path, rules_dir=RULES_DIR))
    checked = _promtool("check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout and "rule files found" in checked.stdout
