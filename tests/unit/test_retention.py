"""Retention over simulated calendars: a clock we drive, a backup per day (some missed, some doubled),
pruning after each one as the `backups` DAG does, and what is left checked against the policy."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from hellohome.backup.retention import to_keep

START = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)


def simulate(days: int, missed: set[int] = frozenset(), doubled: set[int] = frozenset(), policy=(7, 4, 3)):
    """Yield (clock, kept: id -> time) after each day's backup and prune."""
    kept: dict[str, dt.datetime] = {}
    for day in range(days):
        clock = START + dt.timedelta(days=day)
        if day in missed:
            continue
        runs = [clock, clock + dt.timedelta(hours=9)] if day in doubled else [clock]
        for at in runs:
            kept[at.isoformat()] = at
            decision = to_keep(kept, *policy)
            kept = {i: t for i, t in kept.items() if i in decision}
        yield clock, kept


def _distinct(times, bucket) -> list:
    return sorted({bucket(t) for t in times}, reverse=True)


def check_policy(kept: dict[str, dt.datetime], history: list[dt.datetime], daily=7, weekly=4, monthly=3) -> None:
    """Nothing needed is pruned: the newest backup of each of the last N days / weeks / months that
    had one is still there. Nothing extra is kept: every kept backup is one of those."""
    wanted = set()
    for count, bucket in ((daily, lambda t: t.date()), (weekly, lambda t: t.isocalendar()[:2]),
                          (monthly, lambda t: (t.year, t.month))):
        for b in _distinct(history, bucket)[:count]:
            wanted.add(max(t for t in history if bucket(t) == b))
    assert set(kept.values()) == wanted


def test_a_year_of_daily_backups_keeps_exactly_seven_four_three():
    history = []
    for clock, kept in simulate(400):
        history.append(clock)
        check_policy(kept, history)
        assert len(kept) <= 7 + 4 + 3
    # at the end: 7 consecutive days, then Sundays, then month ends
    times = sorted(kept.values(), reverse=True)
    assert [t.date() for t in times[:7]] == [(times[0] - dt.timedelta(days=d)).date() for d in range(7)]
    assert any(t.month != times[0].month and (t + dt.timedelta(days=1)).day == 1 for t in times)  # a month end


def test_month_ends_of_every_length_are_the_monthly_backups():
    *_, (_clock, kept) = simulate(200)
    last = max(kept.values())
    monthly = sorted(to_keep(kept, 7, 4, 3).items(), key=lambda kv: kv[0])
    months = [dt.datetime.fromisoformat(i) for i, why in monthly if "monthly" in why]
    for at in months:
        if (at.year, at.month) != (last.year, last.month):
            assert (at + dt.timedelta(days=1)).day == 1, f"{at} is not the last day of its month"
    assert {(t.month, t.day) for t in months} >= {(6, 30), (5, 31)}  # 30- and 31-day months (200 days from Jan 1)


def test_a_missed_day_does_not_shrink_the_seven_dailies():
    history = []
    missed = {50, 51, 96}
    for clock, kept in simulate(100, missed=missed):
        history.append(clock)
        check_policy(kept, history)
    dailies = sorted(kept.values(), reverse=True)[:7]
    assert len({t.date() for t in dailies}) == 7
    assert dailies[-1].date() == (START + dt.timedelta(days=92)).date()  # one day further back than 7


def test_two_backups_a_day_keep_the_later_one():
    history = []
    for clock, kept in simulate(30, doubled={28, 29}):
        history += [clock, clock + dt.timedelta(hours=9)] if (clock - START).days in {28, 29} else [clock]
        check_policy(kept, history)
    day_29 = [t for t in kept.values() if t.date() == (START + dt.timedelta(days=29)).date()]
    assert day_29 == [START + dt.timedelta(days=29, hours=9)]


@pytest.mark.parametrize("seed", range(5))
def test_random_calendars_with_gaps_hold_the_policy_every_day(seed):
    rng = random.Random(seed)
    missed = {d for d in range(500) if rng.random() < 0.1} | set(range(200, 215))  # and a two-week outage
    doubled = {d for d in range(500) if rng.random() < 0.05}
    history = []
    for clock, kept in simulate(500, missed=missed, doubled=doubled):
        day = (clock - START).days
        history += [clock, clock + dt.timedelta(hours=9)] if day in doubled else [clock]
        check_policy(kept, history)


def test_a_smaller_policy_is_honoured_too():
    history = []
    for clock, kept in simulate(120, policy=(3, 2, 1)):
        history.append(clock)
        check_policy(kept, history, 3, 2, 1)
        assert len(kept) <= 6
