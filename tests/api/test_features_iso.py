"""``iso`` keeps recent answers: a kept answer must equal a fresh one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from geosvc.api import features
from geosvc.api.features import iso

HEL = ZoneInfo("Europe/Helsinki")
SHA = ZoneInfo("Asia/Shanghai")


def fresh(dt: datetime, tz) -> str:
    features._ISO_MEMO.clear()
    return iso(dt, tz)


def test_memo_equals_fresh_across_folds_zones_and_offsets():
    base = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # Helsinki leaves DST at 01:00 UTC
    instants = [base + timedelta(minutes=15 * i) for i in range(16)]
    # the same wall times in Helsinki, both folds (the repeated hour 03:00-04:00)
    instants += [datetime(2026, 10, 25, 3, 30, fold=f, tzinfo=HEL) for f in (0, 1)]
    instants += [datetime(1900, 1, 1, 12, tzinfo=HEL)]  # local mean time: given in UTC
    instants += [datetime(2026, 5, 6, 10, 30, tzinfo=timezone(timedelta(hours=8)))]
    want = {(i, tz): fresh(dt, tz) for i, dt in enumerate(instants) for tz in (HEL, SHA)}
    features._ISO_MEMO.clear()
    for _ in range(2):  # first from scratch into the memo, then from the memo
        for (i, tz), text in want.items():
            assert iso(instants[i], tz) == text, (instants[i], tz)
    # the two folds of the repeated hour are different instants: different texts
    a, b = (want[(len(instants) - 4 + f, HEL)] for f in (0, 1))
    assert a == "2026-10-25T03:30:00+03:00" and b == "2026-10-25T03:30:00+02:00"
    # the same instant given in another zone reads the kept text of that instant
    assert iso(datetime(2026, 5, 6, 2, 30, tzinfo=UTC), SHA) == "2026-05-06T10:30:00+08:00"
    assert iso(None, HEL) is None


def test_memo_is_bounded():
    features._ISO_MEMO.clear()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for s in range(features._ISO_MEMO_MAX + 10):
        iso(start + timedelta(seconds=s), HEL)
    assert len(features._ISO_MEMO) <= features._ISO_MEMO_MAX
