"""`hellohome verify`: MariaDB and the index compared row by row: id, source version, and the
content of every indexed field (the checksum is computed afresh from what the index holds, not read
from the checksum field the same builder wrote, so a document altered in the index is caught too)."""
from __future__ import annotations

from dataclasses import dataclass, field

from opensearchpy import helpers

from hellohome.config import Settings
from hellohome.db.engine import get_engine
from hellohome.documents import ENRICHED, checksum, documents_page
from hellohome.search import indexes


@dataclass
class ParityReport:
    checked: int = 0
    missing: list[int] = field(default_factory=list)  # in MariaDB, not in the index
    stale: list[int] = field(default_factory=list)  # in both, another version, or fields that differ
    extra: list[int] = field(default_factory=list)  # in the index, not (or no longer) in MariaDB

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def verify(settings: Settings, page_size: int = 5000, index: str | None = None,
           source: str | None = None) -> ParityReport:
    """`index`: a concrete version (a reindex checks its new one before it goes live); default the
    read alias. `source`: only the listings of that dataset (an ingest waits for its city)."""
    client = indexes.client(settings)
    alias = index or indexes.read_alias("properties", settings.index_prefix)
    indexed = {}
    if client.indices.exists(index=alias):  # no index yet: everything is missing
        client.indices.refresh(index=alias)
        indexed = {  # enrichment (vectors, scores) is added later and is not MariaDB's: left out
            int(hit["_id"]): (hit["_source"].get("source_version"), checksum(hit["_source"]))
            for hit in helpers.scan(client, index=alias, query={"query": {"term": {"source": source}} if source else {"match_all": {}}},
                                    _source_excludes=list(ENRICHED), size=2000)
        }
    report, after = ParityReport(), 0
    engine = get_engine(settings, "readonly")
    while True:
        with engine.connect() as conn:
            docs, last = documents_page(settings, conn, after, page_size)
        if last is None:
            break
        for pid, doc in docs.items():
            if source and doc["source"] != source:
                continue
            report.checked += 1
            found = indexed.pop(pid, None)
            if found is None:
                report.missing.append(pid)
            elif found != (doc["source_version"], doc["checksum"]):
                report.stale.append(pid)
        after = last
    report.extra = sorted(indexed)
    return report
