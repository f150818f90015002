"""The reindex DAG rebuilds the live index with zero downtime: searches running through the whole
run never fail and never see an empty or partial index; the new version is identical to MariaDB;
`rollback` swaps back to the kept previous version."""
from __future__ import annotations

import threading
import time

from hellohome.search import indexes
from hellohome.sync.verify import verify
from tests.dags.conftest import run_dag
from tests.integration.search_fixtures import backfilled

PREFIX = "test-reindex-"


class Searcher(threading.Thread):
    """Counts and text-searches the read alias as fast as it can until stopped."""

    def __init__(self, settings, expected: int):
        super().__init__(daemon=True)
        self.client, self.alias = indexes.client(settings), indexes.read_alias("properties", PREFIX)
        self.expected, self.stop = expected, threading.Event()
        self.searches, self.errors, self.wrong_totals = 0, [], []

    def run(self):
        while not self.stop.is_set():
            try:
                total = self.client.search(index=self.alias, body={"size": 0, "track_total_hits": True,
                                                                   "query": {"match_all": {}}})["hits"]["total"]["value"]
                hits = self.client.search(index=self.alias, body={"size": 5, "query": {"match": {"title": "cozy"}}})
                if total != self.expected:
                    self.wrong_totals.append(total)
                if not hits["hits"]["hits"]:
                    self.wrong_totals.append("no hits for 'cozy'")
                self.searches += 1
            except Exception as exc:  # every failure counts: that is what the test is about
                self.errors.append(repr(exc))
            time.sleep(0.05)


def test_reindex_swaps_with_zero_downtime_and_rolls_back(loaded_db, stack, dagbag, task_settings):
    with backfilled(stack, PREFIX) as settings:
        task_settings(HH_INDEX_PREFIX=PREFIX)
        client = indexes.client(settings)
        before = indexes.current(client, "properties", PREFIX)
        expected = client.count(index=before)["count"]
        searcher = Searcher(settings, expected)
        searcher.start()
        try:
            state, tasks, _ = run_dag(dagbag, "reindex", parallel_ranges=3, batch_size=2000)
        finally:
            searcher.stop.set()
            searcher.join(10)
        assert state == "success", tasks
        assert tasks["rollback"] == "skipped"
        assert [t for t in tasks if t.startswith("build_range[")] == [f"build_range[{i}]" for i in range(3)]
        after = indexes.current(client, "properties", PREFIX)
        assert after != before and after == f"{PREFIX}properties_v2"
        assert client.count(index=after)["count"] == expected
        report = verify(settings)
        assert report.clean and report.checked == expected
        assert searcher.searches > 20 and searcher.errors == [] and searcher.wrong_totals == []
        assert client.indices.exists(index=before)  # kept for rollback

        state, tasks, _ = run_dag(dagbag, "reindex", rollback=True)
        assert state == "success" and tasks["rollback"] == "success" and tasks["start"] == "skipped"
        assert indexes.current(client, "properties", PREFIX) == before

        # v3 goes live with keep_days=0: v1 is older than the rollback target v2 and goes; v2 stays
        state, tasks, _ = run_dag(dagbag, "reindex", parallel_ranges=1, keep_days=0)
        assert state == "success", tasks
        assert [name for _, name in indexes.versions(client, "properties", PREFIX)] == [
            f"{PREFIX}properties_v2", f"{PREFIX}properties_v3"]
        assert indexes.current(client, "properties", PREFIX) == f"{PREFIX}properties_v3"
