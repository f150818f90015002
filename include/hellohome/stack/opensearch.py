"""OpenSearch, single node, from Maven Central: the integ-test-zip distribution, the released module
jars it lacks (laid out as modules/), and the k-NN and neural-search (hybrid query) plugin zips.

The install lives in `.cache/stack/opensearch-<version>` (built once, reused offline); data, logs,
config and the snapshot repository live in `.stack/opensearch`.
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import requests

from hellohome.config import Settings
from hellohome.stack import artifacts, jvm
from hellohome.stack.process import ManagedProcess, run_once, service_user
from hellohome.stack.service import ProcessService

# module folder -> (plugin class, extended plugins, security policy grants)
MODULES = {
    "lang-painless": ("org.opensearch.painless.PainlessPlugin", "",
                      ['permission java.lang.RuntimePermission "createClassLoader";',
                       'permission java.lang.RuntimePermission "getClassLoader";']),
    "analysis-common": ("org.opensearch.analysis.common.CommonAnalysisPlugin", "lang-painless", []),
    "mapper-extras": ("org.opensearch.index.mapper.MapperExtrasPlugin", "", []),
    "geo": ("org.opensearch.geo.GeoModulePlugin", "", []),
}
PLUGINS = ("opensearch-knn", "neural-search")  # install order: neural-search extends k-NN


def home(settings: Settings) -> Path:
    return artifacts.stack_cache(settings) / f"opensearch-{artifacts.versions()['opensearch.version']}"


def install(settings: Settings) -> Path:
    """Unpack, add modules, install plugins; idempotent (a stamp marks a finished install)."""
    target = home(settings)
    stamp = target / ".hellohome-installed"
    if stamp.exists():
        return target
    v = artifacts.versions()
    dist = artifacts.ensure(settings, "opensearch")
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(dist / f"opensearch-{v['opensearch.version']}.zip") as zf:
        zf.extractall(target.parent)
    for path in (target / "bin").iterdir():
        path.chmod(0o755)
    for name, (classname, extends, grants) in MODULES.items():
        module = target / "modules" / name
        shutil.copytree(artifacts.stack_cache(settings) / "opensearch-modules" / name, module)
        (module / "plugin-descriptor.properties").write_text(
            f"description={name} module\nversion={v['opensearch.version']}\nname={name}\nclassname={classname}\n"
            f"java.version=11\nopensearch.version={v['opensearch.version']}\nextended.plugins={extends}\n"
            "has.native.controller=false\n")
        if grants:
            (module / "plugin-security.policy").write_text("grant {\n  " + "\n  ".join(grants) + "\n};\n")
    for plugin in PLUGINS:
        plugin_zip = dist / f"{plugin}-{v['knn.version']}.zip"
        run_once("opensearch", f"install plugin {plugin}", [
            str(target / "bin" / "opensearch-plugin"), "install", "--batch", f"file://{plugin_zip}",
        ], settings.stack_dir / "opensearch" / "install.log", env={"JAVA_HOME": str(jvm.java_home())})
    stamp.write_text("ok\n")
    return target


def _config_dir(settings: Settings, install_dir: Path) -> Path:
    d = settings.stack_dir / "opensearch"
    config = d / "config"
    if not config.exists():
        shutil.copytree(install_dir / "config", config)
        # bin/opensearch runs from the install folder; point its relative JVM paths at our own folder
        options = (config / "jvm.options").read_text()
        for relative, absolute in (("file=logs/", f"file={d}/logs/"), ("=logs/", f"={d}/logs/"),
                                   ("HeapDumpPath=data", f"HeapDumpPath={d}/data")):
            options = options.replace(relative, absolute)
        (config / "jvm.options").write_text(options)
    return config


def ping(settings: Settings) -> bool:
    health = requests.get(f"{settings.opensearch_url}/_cluster/health", timeout=3).json()
    return health.get("status") in ("green", "yellow")


def _launch(settings: Settings, proc: ManagedProcess) -> None:
    install_dir = install(settings)
    d = proc.workdir
    for sub in ("data", "logs", "snapshots"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    options = {
        "cluster.name": "hellohome", "node.name": "hellohome-1", "discovery.type": "single-node",
        "network.host": "127.0.0.1", "http.port": settings.opensearch_port,
        "transport.port": settings.opensearch_transport_port,
        "path.data": d / "data", "path.logs": d / "logs", "path.repo": d / "snapshots",
        # absolute watermarks: a nearly full dev disk should not turn the cluster read-only silently
        "cluster.routing.allocation.disk.watermark.low": "2gb",
        "cluster.routing.allocation.disk.watermark.high": "1gb",
        "cluster.routing.allocation.disk.watermark.flood_stage": "512mb",
        # one refresh thread per shard of an index (the default is half the cores: one here), so
        # a refresh of a 2-shard index does not run its shards one after the other
        "thread_pool.refresh.max": max(2, settings.index_shards),
        # a write to a dropped version must fail, not create a default-mapped index of that name
        # (system indexes, dot-prefixed, may still be created by plugins)
        "action.auto_create_index": "+.*,-*",
    }
    config = _config_dir(settings, install_dir)
    # OpenSearch refuses to run as root: as root, it runs as a system user owning only its own folder
    user = service_user("hellohome-opensearch", [d])
    proc.start(
        [str(install_dir / "bin" / "opensearch"), *(f"-E{k}={v}" for k, v in options.items())],
        env={"JAVA_HOME": str(jvm.java_home()), "OPENSEARCH_PATH_CONF": str(config),
             "OPENSEARCH_JAVA_OPTS": f"-Xms{settings.opensearch_heap_mb}m -Xmx{settings.opensearch_heap_mb}m"},
        cwd=d, user=user,
    )


SERVICE = ProcessService("opensearch", port=lambda s: s.opensearch_port, ping=ping, check="GET /_cluster/health",
                         launch=_launch, log_file=lambda s: s.stack_dir / "opensearch" / "logs" / "hellohome.log",
                         stop_timeout_s=60)
