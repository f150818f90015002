"""`hellohome` command line: thin over the library, every command with --help."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hellohome import logs
from hellohome.backup.cli import backup_app, restore_app
from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.diagnose import explain
from hellohome.errors import HelloHomeError

app = typer.Typer(help="HelloHome property search platform.", no_args_is_help=True, pretty_exceptions_enable=False)
stack_app = typer.Typer(help="Start, stop and inspect the local real services.", no_args_is_help=True)
db_app = typer.Typer(help="Schema migrations of the source-of-truth database.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
index_app = typer.Typer(help="Versioned search indexes behind read/write aliases.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(index_app, name="index")
enrich_app = typer.Typer(help="Text vectors and third-party scores added to indexed documents.",
                         no_args_is_help=True)
app.add_typer(enrich_app, name="enrich")
key_app = typer.Typer(help="API keys for writes and admin endpoints (stored hashed).", no_args_is_help=True)
app.add_typer(key_app, name="apikey")
app.add_typer(backup_app, name="backup")
app.add_typer(restore_app, name="restore")
console = Console(stderr=True)


DEBUG = {"traceback": False}


@app.callback()
def _main(log_level: Annotated[str, typer.Option(help="log level of structured lines on stderr")] = "WARNING",
          debug: Annotated[bool, typer.Option("--debug", help="on an error, print the traceback too")] = False) -> None:
    logs.configure(log_level.upper())
    DEBUG["traceback"] = debug
    if not debug:  # a failed request is reported once, as the command's error line, not per retry
        for client in ("opensearch", "urllib3", "botocore"):
            logging.getLogger(client).setLevel(max(logging.ERROR, logging.getLogger().level))


# ---------------------------------------------------------------- stack
@stack_app.command("up")
def stack_up() -> None:
    """Start every local service that is not running yet, wait until each is ready, print status."""
    from hellohome.stack import services

    services.up(get_settings())
    _print_status()


@stack_app.command("down")
def stack_down() -> None:
    """Stop the services this project started (pid files): gracefully, then forcefully."""
    from hellohome.stack import services

    for name, was_running in services.down(get_settings()):
        console.print(f"{name}: {'stopped' if was_running else 'was not running'}")


@stack_app.command("status")
def stack_status(as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """Service, pid, port and health of each local service (exit 1 if any is unhealthy)."""
    healthy = _print_status(as_json)
    raise typer.Exit(0 if healthy else 1)


@stack_app.command("logs")
def stack_logs(service: str, lines: Annotated[int, typer.Option(help="how many lines")] = 50) -> None:
    """Print the tail of one service's log."""
    from hellohome.stack import services
    from hellohome.stack.process import tail

    print(tail(services.log_path(get_settings(), service), lines))


def _print_status(as_json: bool = False) -> bool:
    from hellohome.stack import services

    rows = services.status(get_settings())
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        table = Table("service", "pid", "port", "health", "restarts")
        for r in rows:
            table.add_row(r["service"], str(r["pid"] or "-"), str(r["port"]), "healthy" if r["healthy"] else "DOWN",
                          str(r["restarts"]) if "restarts" in r else "-")
        Console().print(table)
    return all(r["healthy"] for r in rows)


@app.command("up")
def up(load_data: Annotated[bool, typer.Option("--load/--no-load", help="load the NYC and Edinburgh datasets")] = True) -> None:
    """The main job: start the local stack, migrate the schema, load the real data, show what is where."""
    from hellohome.stack import services

    services.up(get_settings())
    _print_status()
    db_migrate("head")
    if load_data:
        for dataset in ("nyc", "edinburgh"):
            load(dataset, path=None, batch_size=None, progress=sys.stderr.isatty())
    summary()
    _rebuild_if_outdated()
    _wait_indexed(timeout_s=600)
    _first_backup()
    settings = get_settings()
    console.print(f"search page: http://127.0.0.1:{settings.api_port}/  API docs: "
                  f"http://127.0.0.1:{settings.api_port}/docs  (writes need `hellohome apikey create`)")
    console.print(f"dashboards: http://127.0.0.1:{settings.prometheus_port}/consoles/index.html  alerts: "
                  f"http://127.0.0.1:{settings.prometheus_port}/alerts  Alertmanager: "
                  f"http://127.0.0.1:{settings.alertmanager_port}/")
    if settings.airflow_autostart:
        from hellohome.stack import airflow

        console.print(f"Airflow: {airflow.url(settings)}/  log in as {settings.airflow_admin_user!r}, password: "
                      f"HH_AIRFLOW_ADMIN_PASSWORD in {settings.stack_dir / 'secrets.env'}")


def _rebuild_if_outdated() -> None:
    """An index built by an older version of the code (another mapping) is rebuilt, zero downtime."""
    from hellohome.search import indexes
    from hellohome.sync.backfill import backfill

    settings = get_settings()
    if live := indexes.outdated(indexes.client(settings), settings, "properties", settings.index_prefix):
        console.print(f"search index: {live} was built from an older mapping; rebuilding it")
        report = backfill(settings, progress=sys.stderr.isatty())
        console.print(f"search index: {report.index} built ({report.docs:,} documents) and live")


def _first_backup() -> None:
    """With no backup in S3 yet (a fresh stack: the local S3 keeps nothing across restarts), take
    one now, so point-in-time restores work from the start and the backup alerts stay quiet."""
    from hellohome.backup import database, snapshots

    settings = get_settings()
    if database.full_backups(settings):
        return
    manifest, snapshot = database.full_backup(settings), snapshots.snapshot_live(settings)
    console.print(f"backups: full backup {manifest['id']} and snapshot {snapshot['id']} in S3; then daily at "
                  "02:00 UTC (the `backups` DAG), binlogs continuously (the `binlog-archiver` service)")


def _wait_indexed(timeout_s: float) -> None:
    """Follow the indexer until OpenSearch holds exactly what MariaDB holds (hellohome verify)."""
    import time

    from hellohome.sync.verify import verify

    deadline = time.monotonic() + timeout_s
    while True:
        report = verify(get_settings())
        indexed = report.checked - len(report.missing) - len(report.stale)
        console.print(f"search index: {indexed:,} of {report.checked:,} listings current"
                      f"{'' if report.clean else f', {len(report.extra):,} extra'}")
        if report.clean:
            return
        if time.monotonic() > deadline:
            raise HelloHomeError("search index: not in step with MariaDB after "
                                 f"{timeout_s:.0f}s; see `hellohome stack logs indexer`")
        time.sleep(10)


@app.command("down")
def down() -> None:
    """Stop the local stack (same as `stack down`)."""
    stack_down()


@app.command("airflow", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def airflow_cli(ctx: typer.Context) -> None:
    """Run Airflow's own CLI with the stack's Airflow environment, e.g. `hellohome airflow dags list`
    or `hellohome airflow dags test reindex` (the metadata database, DAGs folder and connections
    the stack's Airflow uses)."""
    import os

    from hellohome.stack import airflow

    binary = str(Path(sys.executable).with_name("airflow"))
    os.execve(binary, [binary, *ctx.args], {**os.environ, **airflow.environment(get_settings())})


# ---------------------------------------------------------------- enrichment
@enrich_app.command("refresh")
def enrich_refresh(everything: Annotated[bool, typer.Option("--all", help="re-check every document, not only "
                                                                          "those without a current vector")] = False,
                   progress: Annotated[bool, typer.Option(help="show a progress bar")] = True) -> None:
    """Add text vectors to documents that lack them or carry another model's (embedding cache first,
    the model for the rest)."""
    from hellohome.enrich.enricher import Enricher, refresh

    settings = get_settings()
    totals = refresh(settings, Enricher(settings), everything=everything, progress=progress)
    console.print(", ".join(f"{k} {v:,}" for k, v in totals.items()) or "nothing to enrich")


@enrich_app.command("scores")
def enrich_scores(quota: Annotated[int | None, typer.Option(min=0, help="requests per provider today "
                                                            "(default HH_PROVIDER_DAILY_QUOTA)")] = None,
                  limit: Annotated[int | None, typer.Option(min=1, help="at most this many expired answers")] = None) -> None:
    """Re-fetch third-party scores past their TTL within each provider's daily quota (the
    enrichment_refresh DAG's work) and print what happened per provider."""
    from hellohome.batch.enrichment import refresh_scores

    report = refresh_scores(get_settings(), per_day=quota, limit=limit)
    for name, counts in report["providers"].items():
        console.print(f"{name}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if v))
    console.print(f"places expired {report['places_expired']:,}, refreshed {report['places_refreshed']:,}; "
                  f"documents updated {report['documents_updated']:,}")


# ---------------------------------------------------------------- api keys
@key_app.command("create")
def apikey_create(name: Annotated[str, typer.Argument(help="who or what uses the key")],
                  scope: Annotated[list[str], typer.Option(help="write and/or admin")] = None) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from hellohome.api import keys

    print(keys.create(get_engine(get_settings(), "app"), name, scope or ["write"]))


@key_app.command("list")
def apikey_list() -> None:
    from hellohome.api import keys

    for row in keys.listing(get_engine(get_settings(), "app")):
        console.print(f"hh_{row['prefix']}_…  {row['name']}  [{row['scopes']}]  created {row['created_at']:%Y-%m-%d %H:%M}"
                      f"{'  REVOKED' if row['revoked_at'] else ''}", markup=False)  # "[admin]" is not a style


@key_app.command("revoke")
def apikey_revoke(prefix: Annotated[str, typer.Argument(help="the part after hh_ and before the next _")]) -> None:
    from hellohome.api import keys

    if not keys.revoke(get_engine(get_settings(), "app"), prefix):
        raise HelloHomeError(f"prefix: no active key hh_{prefix}_…")
    console.print(f"revoked hh_{prefix}_…")


# ---------------------------------------------------------------- db
@db_app.command("migrate")
def db_migrate(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Upgrade the schema to REVISION (default: head)."""
    from hellohome.db import migrate

    migrate.upgrade(get_settings(), revision)
    console.print(f"schema at {migrate.current_revision(get_settings())}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. base or -1")]) -> None:
    """Downgrade the schema to REVISION."""
    from hellohome.db import migrate

    migrate.downgrade(get_settings(), revision)
    console.print(f"schema at {migrate.current_revision(get_settings())}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision the database is at."""
    from hellohome.db import migrate

    print(migrate.current_revision(get_settings()) or "base")


# ---------------------------------------------------------------- index
@index_app.command("create")
def index_create(kind: Annotated[str, typer.Argument(help="properties or user_profiles")] = "properties") -> None:
    """Create the next version of KIND (the first version also gets the read and write aliases)."""
    from hellohome.search import indexes

    print(indexes.create(indexes.client(get_settings()), get_settings(), kind))


@index_app.command("list")
def index_list() -> None:
    """Every index version with its document count, health and aliases."""
    from hellohome.search import indexes

    table = Table("index", "docs", "health", "aliases")
    for row in indexes.listing(indexes.client(get_settings())):
        table.add_row(row["index"], f"{row['docs']:,}", row["health"], ", ".join(row["aliases"]) or "-")
    Console().print(table)


@index_app.command("swap")
def index_swap(kind: Annotated[str, typer.Argument(help="properties or user_profiles")],
               target: Annotated[str, typer.Argument(help="the version to make live, e.g. properties_v2")]) -> None:
    """Point KIND's read and write aliases at TARGET in one atomic call."""
    from hellohome.search import indexes

    indexes.swap(indexes.client(get_settings()), kind, target)
    console.print(f"{kind} -> {target}")


@index_app.command("drop")
def index_drop(name: Annotated[str, typer.Argument(help="a concrete index version that no alias points at")]) -> None:
    """Delete an index version (refused while an alias points at it)."""
    from hellohome.search import indexes

    indexes.drop(indexes.client(get_settings()), name)
    console.print(f"dropped {name}")


# ---------------------------------------------------------------- data
@app.command("load")
def load(
    dataset: Annotated[str, typer.Argument(help="nyc or edinburgh")],
    path: Annotated[Path | None, typer.Option(help="CSV or CSV.GZ file (default: the copy in shared/data)")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, max=50_000, help="rows per transaction [default: HH_LOAD_BATCH_SIZE]")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Load an Inside Airbnb listings file into properties, users, user_profiles and property_images."""
    from hellohome.loaders.run import DATASETS, default_path, load_file

    settings = get_settings()
    if dataset not in DATASETS:
        raise HelloHomeError(f"dataset: unknown {dataset!r}; choose one of {', '.join(DATASETS)}")
    report = load_file(
        get_engine(settings, "app"), path or default_path(settings, dataset), dataset, DATASETS[dataset][1],
        batch_size=batch_size or settings.load_batch_size, rejects_dir=settings.stack_dir / "rejects",
        progress=progress,
    )
    console.print(
        f"{dataset}: read {report.rows_read:,} rows, loaded {report.rows_loaded:,}, rejected {len(report.rejects):,} "
        f"in {report.seconds:.1f}s ({report.rows_per_s:,.0f} rows/s)"
    )
    if report.rejects:
        console.print(f"rejects report: {report.rejects_file}")
        for r in report.rejects[:10]:
            console.print(f"  row {r.row} (line {r.line}, id {r.source_id or '?'}): {r.column}: {r.reason}")


@app.command("generate")
def generate(
    count: Annotated[int, typer.Option(min=1, max=50_000_000, help="how many listings to generate")],
    seed: Annotated[int, typer.Option(help="random seed; same seed, same rows")] = 42,
    batch_size: Annotated[int, typer.Option(min=1, max=50_000, help="rows per transaction")] = 5000,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Resample the loaded real listings into COUNT generated ones (ids from 3e18 up)."""
    from hellohome.loaders.generate import generate as run

    report = run(get_engine(get_settings(), "app"), count, seed=seed, batch_size=batch_size, progress=progress)
    console.print(f"generated {report.rows:,} listings in {report.seconds:.1f}s ({report.rows_per_s:,.0f} rows/s)")


@app.command("backfill")
def backfill_cmd(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="documents per bulk request")] = 5000,
    swap: Annotated[bool, typer.Option(help="swap the aliases to the new version when done")] = True,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Build a new properties index version from MariaDB (keyset pages), swap aliases, catch up on changes."""
    from hellohome.sync.backfill import backfill

    report = backfill(get_settings(), batch_size=batch_size, swap=swap, progress=progress)
    console.print(f"{report.index}: {report.docs:,} documents in {report.seconds:.1f}s "
                  f"({report.docs_per_s:,.0f} docs/s); {'swapped' if report.swapped else 'not swapped'}; "
                  f"{report.replayed:,} change events replayed")


@app.command("verify")
def verify_cmd(show: Annotated[int, typer.Option(help="ids to print per kind of difference")] = 10) -> None:
    """Compare MariaDB and the index row by row; exit 1 on any missing, stale or extra document."""
    from hellohome.sync.verify import verify

    report = verify(get_settings())
    print(f"checked {report.checked:,}: missing {len(report.missing):,}, stale {len(report.stale):,}, "
          f"extra {len(report.extra):,}")
    for kind in ("missing", "stale", "extra"):
        ids = getattr(report, kind)
        if ids:
            print(f"  {kind}: {', '.join(map(str, ids[:show]))}{' ...' if len(ids) > show else ''}")
    raise typer.Exit(0 if report.clean else 1)


@app.command("summary")
def summary() -> None:
    """Row counts per table and per source: what is where."""
    from hellohome.db.summary import table_counts

    settings = get_settings()
    table = Table("table", "source", "rows")
    for name, source, rows in table_counts(settings):
        table.add_row(name, source, f"{rows:,}")
    Console().print(table)
    Console().print(f"MariaDB {settings.db_host}:{settings.db_port}/{settings.db_name} "
                    f"(socket {settings.db_socket}); logs: hellohome stack logs mariadb")


def main() -> None:
    try:
        app()
    except Exception as exc:
        try:
            settings = get_settings()
        except HelloHomeError:
            settings = None  # the settings themselves are what failed: exc says so
        line = explain(exc, settings)
        if line is None or DEBUG["traceback"]:
            raise
        print(f"error: {line}", file=sys.stderr)  # plain: no wrapping, greppable; --debug for the traceback
        sys.exit(2)


ops_app = typer.Typer(help="Monitoring: dashboards generated from ops/dashboards.yml.", no_args_is_help=True)
app.add_typer(ops_app, name="ops")


@ops_app.command("dashboards")
def ops_dashboards() -> None:
    """Rewrite the Grafana dashboards (ops/grafana/dashboards) from ops/dashboards.yml; the stack's
    console pages are generated from the same file whenever Prometheus starts."""
    from hellohome.monitoring import dashboards

    defined = dashboards.load()
    for path in dashboards.write_grafana(defined):
        console.print(f"wrote {path}")


@ops_app.command("alertmanager-config")
def ops_alertmanager_config(out: Annotated[Path, typer.Option(help="where to write alertmanager.yml")]) -> None:
    """Alertmanager's configuration from settings (receivers, routing by severity, inhibition), as
    the local stack renders it; docker-compose's one-shot `alertmanager-config` runs this."""
    from hellohome.monitoring import alertmanager

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(alertmanager.render(get_settings()))
    out.chmod(0o600)
    console.print(f"wrote {out}")


cdc_app = typer.Typer(help="Change data capture: the Debezium connector.", no_args_is_help=True)
app.add_typer(cdc_app, name="cdc")


@cdc_app.command("register")
def cdc_register() -> None:
    """Create or update the Debezium connector (idempotent; `stack up` does it locally)."""
    from hellohome.cdc import connector

    connector.register(get_settings())
    console.print("connector registered")
