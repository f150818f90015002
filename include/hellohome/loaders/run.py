"""`hellohome load`: read a dataset, validate each row, upsert in batches, report rejects."""
from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError
from tqdm import tqdm

from hellohome.config import Settings
from hellohome.loaders.airbnb_csv import DatasetDefaults, iter_rows, map_columns, parse_record, read_header, read_text
from hellohome.loaders.records import ListingRecord, Reject, check_listing
from hellohome.loaders.writer import upsert_listings

log = logging.getLogger(__name__)

DATASETS = {
    "nyc": (Path("nyc_airbnb_2019/AB_NYC_2019.csv"), DatasetDefaults("New York", "USD", "nyc_airbnb_2019")),
    "edinburgh": (Path("edinburgh_airbnb_2024-09/listings.csv.gz"),
                  DatasetDefaults("Edinburgh", "GBP", "edinburgh_airbnb_2024_09")),
}


@dataclass
class LoadReport:
    dataset: str
    path: str
    rows_read: int = 0
    rows_loaded: int = 0
    rejects: list[Reject] = field(default_factory=list)
    seconds: float = 0.0
    rejects_file: str | None = None

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


def default_path(settings: Settings, dataset: str) -> Path:
    return settings.data_dir / DATASETS[dataset][0]


def _write_batch(engine: Engine, batch: list[tuple[int, int, ListingRecord]], report: LoadReport) -> None:
    try:
        with engine.begin() as conn:
            upsert_listings(conn, [rec for _, _, rec in batch])
        report.rows_loaded += len(batch)
        return
    except (DataError, IntegrityError) as exc:  # bad data: isolate it; anything else is a bug and raises
        if len(batch) == 1:
            number, line, rec = batch[0]
            report.rejects.append(Reject(number, line, "(database)", str(exc.orig)[:300], str(rec.property["id"])))
            return
        log.warning("batch of %d failed (%s); retrying row by row to isolate the bad rows", len(batch), exc.orig)
    for item in batch:
        _write_batch(engine, [item], report)


def load_file(engine: Engine, path: Path, dataset: str, defaults: DatasetDefaults, *, batch_size: int,
              rejects_dir: Path, progress: bool = True) -> LoadReport:
    started = time.perf_counter()
    report = LoadReport(dataset=dataset, path=str(path))
    text = read_text(path)
    header = read_header(text)
    mapping = map_columns(header, path)  # fails before any write
    batch: list[tuple[int, int, ListingRecord]] = []
    bar = tqdm(total=text.count("\n") + 1, unit="line", desc=f"load {dataset}", disable=not progress, mininterval=0.5)
    for number, line, fields, error in iter_rows(text):
        report.rows_read += 1
        bar.n = line
        bar.update(0)
        reject = _validate(number, line, fields, error, header, mapping, defaults)
        if isinstance(reject, Reject):
            report.rejects.append(reject)
        else:
            batch.append((number, line, reject))
        if len(batch) >= batch_size:
            _write_batch(engine, batch, report)
            batch = []
    if batch:
        _write_batch(engine, batch, report)
    bar.close()
    report.seconds = time.perf_counter() - started
    if report.rejects:
        report.rejects_file = str(write_rejects(report, rejects_dir))
    return report


def _validate(number, line, fields, error, header, mapping, defaults) -> Reject | ListingRecord:
    if fields is None:
        return Reject(number, line, "(record)", error)
    source_id = fields[mapping["id"]] if len(fields) > mapping["id"] else ""
    if len(fields) != len(header):
        kind = "truncated" if len(fields) < len(header) else "overlong"
        return Reject(number, line, "(record)", f"{kind} record: {len(fields)} fields, header has {len(header)}", source_id)
    try:
        record = parse_record(fields, mapping, defaults)
    except ValueError as exc:
        column, _, reason = str(exc).partition(": ")
        return Reject(number, line, column, reason, source_id)
    problems = check_listing(record)
    if problems:
        column, reason = problems[0]
        return Reject(number, line, column, reason, source_id)
    return record


def write_rejects(report: LoadReport, rejects_dir: Path) -> Path:
    rejects_dir.mkdir(parents=True, exist_ok=True)
    path = rejects_dir / f"{report.dataset}-{time.strftime('%Y%m%dT%H%M%S')}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "line", "source_id", "column", "reason"])
        for r in report.rejects:
            writer.writerow([r.row, r.line, r.source_id, r.column, r.reason])
    return path
