"""The benchmarks' instruments: nearest-rank percentiles done right, runs never overwritten."""
import json

from bench import common


def test_nearest_rank_percentiles():
    values = list(range(1, 101))  # 1..100
    assert common.percentile(values, 50) == 50
    assert common.percentile(values, 95) == 95
    assert common.percentile(values, 99) == 99  # not the maximum (the old int(p·n) rank gave 100)
    assert common.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert common.percentile(list(range(1, 21)), 95) == 19


def test_no_percentile_from_too_few_samples():
    assert common.percentile(list(range(99)), 99) is None  # P99 of 99 samples would be their maximum
    assert common.percentile(list(range(19)), 95) is None
    assert common.percentile([], 50) is None
    summary = common.latency([float(v) for v in range(50)])
    assert summary["p99_ms"] is None and summary["samples"] == 50 and summary["p50_ms"] == 24.0


def test_runs_are_kept_side_by_side(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    with common.Conditions(warm=True) as conditions:
        sum(range(10_000))
    first = common.save("demo", {"n": 1}, [{"case": "a", "p50_ms": 1.0}], conditions)
    second = common.save("demo", {"n": 1}, [{"case": "a", "p50_ms": 2.0}], conditions)
    assert first != second and first.exists() and second.exists()
    doc = json.loads(second.read_text())
    assert doc["conditions"]["warm"] is True and doc["conditions"]["wall_s"] >= 0
    assert {"load_avg_1m_start", "cpu_other_s", "cpu_stack_s", "cpu_benchmark_s"} <= set(doc["conditions"])


def test_spread_reads_every_kept_run(tmp_path, monkeypatch):
    from bench import spread

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(spread, "RESULTS", tmp_path)
    for value in (3.0, 1.0, 2.0):
        common.save("demo", {}, [{"case": "a", "p95_ms": value}])
    found = spread.spread("demo")
    assert list(found) == [("case=a", "p95_ms")] and sorted(found[("case=a", "p95_ms")]) == [1.0, 2.0, 3.0]
