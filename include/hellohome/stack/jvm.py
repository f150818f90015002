"""What the JVM services share: the Java to run them with and a log4j2 file logger."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from hellohome.config import Settings
from hellohome.errors import ServiceError
from hellohome.stack import artifacts

JMX_RULES = Path(__file__).resolve().parents[3] / "ops" / "jmx"
JAVA17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")


def java_home() -> Path:
    """Java 17 (what OpenSearch 2.19, Kafka 4.1 and Debezium 3.5 run on); JAVA_HOME wins if set."""
    if os.environ.get("JAVA_HOME"):
        return Path(os.environ["JAVA_HOME"])
    if (JAVA17 / "bin" / "java").exists():
        return JAVA17
    java = shutil.which("java")
    if not java:
        raise ServiceError("java", "install", "no Java found: install openjdk-17-jre-headless (make bootstrap)")
    return Path(java).resolve().parents[1]


def java() -> str:
    return str(java_home() / "bin" / "java")


def write_log4j2(path: Path, log_file: Path) -> Path:
    """A rolling file appender: the services' own logs, readable with `hellohome stack logs`."""
    path.write_text(f"""status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.filePattern = {log_file}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = org.apache.kafka
logger.kafka.level = info
""")
    return path


def jmx_agent(settings: Settings, port: int, rules: str) -> str:
    """The Prometheus JMX exporter as a Java agent: the JVM's MBeans, filtered and renamed by
    ops/jmx/<rules>.yml, on http://127.0.0.1:PORT/metrics."""
    jar = artifacts.ensure(settings, "jmx") / "jmx_prometheus_javaagent.jar"
    return f"-javaagent:{jar}=127.0.0.1:{port}:{JMX_RULES / f'{rules}.yml'}"
