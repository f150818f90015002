"""Downloads of the JVM services from Maven Central, cached under `.cache/` (ops/maven/pom.xml holds
every version; this module reads them from there, so versions live in one place)."""
from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

from hellohome.config import Settings
from hellohome.errors import ServiceError

POM = Path(__file__).resolve().parents[3] / "ops" / "maven" / "pom.xml"
NS = {"m": "http://maven.apache.org/POM/4.0.0"}
# profile -> folder (under .cache/stack) that holds its output once downloaded
PROFILES = {"kafka": "kafka-libs", "debezium": "connect-plugins", "opensearch": "opensearch-dist",
            "jmx": "jmx-exporter"}


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    props = ET.parse(POM).getroot().find("m:properties", NS)
    return {el.tag.split("}")[1]: (el.text or "").strip() for el in props}


def stack_cache(settings: Settings) -> Path:
    return settings.cache_dir / "stack"


def _maven(argv: list[str]) -> subprocess.CompletedProcess:
    """The only place that reaches the network for the JVM services."""
    return subprocess.run(argv, capture_output=True, text=True)


def ensure(settings: Settings, profile: str) -> Path:
    """Resolve one profile with Maven unless its folder is already there; returns that folder."""
    out = stack_cache(settings)
    target = out / PROFILES[profile]
    stamp = target / f".complete-{profile}"
    if stamp.exists():
        return target
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServiceError(profile, "download", "Maven (mvn) not found: run `make bootstrap`")
    argv = [mvn, "-q", "-B", "-f", str(POM), f"-Dmaven.repo.local={settings.cache_dir / 'm2'}",
            f"-Dout={out}", f"-P{profile}", "package"]
    result = _maven(argv)
    if result.returncode != 0:
        raise ServiceError(profile, "mvn package", f"exit {result.returncode}: {' '.join(argv)}",
                           (result.stdout + result.stderr)[-3000:])
    stamp.write_text("ok\n")
    return target
