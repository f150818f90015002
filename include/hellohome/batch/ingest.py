"""The `ingest_listings` DAG's work: any Inside Airbnb listings release of any city, from a local
path or an `s3://` object, validated with Great Expectations before anything is written, loaded as
itself (city, currency and source id are parameters; `nyc` and `edinburgh` are presets), the
rejects report copied to S3, done when CDC has made the city's listings searchable.
"""
from __future__ import annotations

import collections
import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from hellohome.config import Settings
from hellohome.errors import DatasetError, Invalid
from hellohome.loaders.airbnb_csv import REQUIRED, DatasetDefaults, map_columns, read_header, read_text
from hellohome.loaders.run import DATASETS, default_path
from hellohome.stack import s3

# price symbols that name one currency; "$" does not (Inside Airbnb writes "$" in every city)
SYMBOLS = {"£": "GBP", "€": "EUR", "¥": "JPY", "₹": "INR", "₩": "KRW", "₺": "TRY", "₪": "ILS", "₫": "VND"}
SOURCE_ID = re.compile(r"^[a-z0-9_]{3,32}$")


@dataclass(frozen=True)
class IngestPlan:
    path: str  # local file (an s3:// object is downloaded first)
    city: str
    currency: str
    source: str

    def defaults(self) -> DatasetDefaults:
        return DatasetDefaults(self.city, self.currency, self.source)


def fetch(settings: Settings, location: str) -> Path:
    """A local path as is; s3://bucket/key downloaded under <stack_dir>/landing/."""
    if not location.startswith("s3://"):
        return Path(location)
    bucket, _, key = location.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise Invalid("path", f"{location!r} is not s3://bucket/key")
    target = settings.stack_dir / "landing" / bucket / key
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        s3.client(settings).download_file(bucket, key, str(target))
    except Exception as exc:  # botocore's errors: a missing object or bucket, no access
        raise DatasetError(f"{location}: cannot download ({exc})") from None
    return target


def currency_from_prices(text: str, price_column: int, sample: int = 2000) -> str | None:
    """The currency the file's price symbols name, if they name exactly one."""
    import csv
    import io

    seen: collections.Counter = collections.Counter()
    rows = csv.reader(io.StringIO(text, newline=""))
    next(rows, None)
    for _, row in zip(range(sample), rows, strict=False):
        if len(row) > price_column:
            seen.update(c for c in row[price_column][:2] if c in SYMBOLS)
    currencies = {SYMBOLS[s] for s in seen}
    return currencies.pop() if len(currencies) == 1 else None


def plan(settings: Settings, location: str | None, preset: str | None = None, city: str | None = None,
         currency: str | None = None, source: str | None = None) -> IngestPlan:
    """Resolve the file and its city, currency and source id: a preset fills what is not given;
    the currency may come from the file's price symbols; anything still unknown is an error naming it."""
    if preset:
        if preset not in DATASETS:
            raise Invalid("preset", f"unknown {preset!r}; choose one of {', '.join(DATASETS)} or leave it empty")
        known = DATASETS[preset][1]
        city, currency, source = city or known.city, currency or known.currency, source or known.source
        location = location or str(default_path(settings, preset))
    if not location:
        raise Invalid("path", "a local path or s3://bucket/key is required without a preset")
    path = fetch(settings, location)
    text = read_text(path)
    mapping = map_columns(read_header(text), path)
    currency = (currency or currency_from_prices(text, mapping["price"]) or "").upper()
    for name, value in (("city", city), ("currency", currency), ("source", source)):
        if not value:
            hint = " (the prices carry no symbol that names one)" if name == "currency" else ""
            raise Invalid(name, f"required for this file{hint}")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise Invalid("currency", f"{currency!r} is not an ISO 4217 code like EUR")
    if not SOURCE_ID.fullmatch(source):
        raise Invalid("source", f"{source!r}: 3-32 characters of a-z, 0-9 and _")
    return IngestPlan(str(path), city.strip(), currency, source)


def frame(path: Path) -> pd.DataFrame:
    """The file's required columns under our field names, as text (GX checks their shape)."""
    text = read_text(path)
    mapping = map_columns(read_header(text), path)
    import io

    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, on_bad_lines="skip")
    df = pd.DataFrame({field: raw.iloc[:, mapping[field]] for field in REQUIRED})
    for col in ("latitude", "longitude"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df["price_number"] = pd.to_numeric(df["price"].str.replace(r"[^\d.]", "", regex=True).replace("", None),
                                       errors="coerce")
    return df


def validate_file(settings: Settings, ingest: IngestPlan) -> dict:
    """Great Expectations over the file before anything is written: ids present, whole numbers and
    unique, coordinates in range, prices numbers in range where present (an empty price is allowed:
    the listing loads without one). Raises DatasetError on failure; the result is kept in S3."""
    from hellohome.batch.quality import expectations, gx_validate

    e = expectations()
    expectations = [
        e.ExpectColumnValuesToNotBeNull(column="id"),
        e.ExpectColumnValuesToMatchRegex(column="id", regex=r"^\d{1,19}$"),
        e.ExpectColumnValuesToBeUnique(column="id"),
        e.ExpectColumnValuesToMatchRegex(column="host_id", regex=r"^\d{1,19}$", mostly=0.99),
        e.ExpectColumnValuesToBeBetween(column="latitude", min_value=-90, max_value=90, mostly=0.99),
        e.ExpectColumnValuesToBeBetween(column="longitude", min_value=-180, max_value=180, mostly=0.99),
        e.ExpectColumnValuesToBeBetween(column="price_number", min_value=0, max_value=100_000, mostly=0.99),
        e.ExpectTableRowCountToBeBetween(min_value=1),
    ]
    report = gx_validate(settings, f"ingest_{ingest.source}", frame(Path(ingest.path)), expectations)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    key = f"ingest/{ingest.source}/{stamp}-validation.json"
    s3.client(settings).put_object(Bucket=settings.quality_bucket, Key=key, Body=json.dumps(
        {"plan": asdict(ingest), **asdict(report)}, default=str).encode())
    if not report.success:
        raise DatasetError(f"{ingest.path}: the file failed validation, nothing was loaded: " + "; ".join(
            f"{f['column'] or 'table'} {f['expectation']} ({f['unexpected']} unexpected, e.g. {f['examples'][:3]})"
            for f in report.failures))
    return {"evaluated": report.evaluated, "result": f"s3://{settings.quality_bucket}/{key}"}


def load(settings: Settings, ingest: IngestPlan) -> dict:
    """Load the file; the rejects report goes to s3://<HH_REJECTS_BUCKET>/rejects/<source>/."""
    from hellohome.db.engine import get_engine
    from hellohome.loaders.run import load_file

    report = load_file(get_engine(settings, "app"), Path(ingest.path), ingest.source, ingest.defaults(),
                       batch_size=settings.load_batch_size, rejects_dir=settings.stack_dir / "rejects", progress=False)
    rejects = None
    if report.rejects_file:
        rejects = f"s3://{settings.rejects_bucket}/rejects/{ingest.source}/{Path(report.rejects_file).name}"
        s3.client(settings).upload_file(report.rejects_file, settings.rejects_bucket, rejects.split("/", 3)[3])
    return {"rows_read": report.rows_read, "rows_loaded": report.rows_loaded, "rejected": len(report.rejects),
            "seconds": round(report.seconds, 1), "rejects": rejects}


def wait_searchable(settings: Settings, source: str, timeout_s: float = 600) -> dict:
    """Until the index holds exactly the source's listings as MariaDB has them (id, version, content)."""
    from hellohome.sync.verify import verify

    deadline = time.monotonic() + timeout_s
    while True:
        report = verify(settings, source=source)
        if report.clean:
            return {"source": source, "listings": report.checked}
        if time.monotonic() > deadline:
            raise DatasetError(f"{source}: not searchable after {timeout_s:.0f}s: missing {len(report.missing)}, "
                               f"stale {len(report.stale)}, extra {len(report.extra)}")
        time.sleep(5)
