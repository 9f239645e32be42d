"""Supplied candidate points: duplicate ids are refused, and quickly."""

from __future__ import annotations

import time

import pytest

from geosvc.analysis.planning import supplied_candidates
from geosvc.analysis.planning.candidates import MAX_CANDIDATES
from geosvc.errors import InvalidParameter
from geosvc.network.synthetic import grid_network


@pytest.fixture(scope="module")
def net():
    """Return a 3 x 3 grid network (all candidates snap)."""
    return grid_network(3, 3)


def _rows(ids):
    return [{"id": i, "lon": 117.0, "lat": 31.0} for i in ids]


def test_duplicate_ids_are_named(net):
    """Each repeated id is named once, sorted; unique ids are not."""
    with pytest.raises(InvalidParameter, match="duplicate ids: a, b") as exc:
        supplied_candidates(net, _rows(["b", "a", "c", "a", "b"]), snap_max_m=500)
    assert "c" not in str(exc.value).split("duplicate ids:")[1]


def test_one_duplicate_among_the_most_candidates_is_found_fast(net):
    """MAX_CANDIDATES points with one repeated id: refused in well under a second."""
    # ids.count() per id made this ~2.6 s (quadratic); one counting pass takes ms
    ids = [f"c{i}" for i in range(MAX_CANDIDATES - 1)] + ["c5"]
    t0 = time.process_time()  # CPU time: the budget is the code's, not the machine's load
    with pytest.raises(InvalidParameter, match="duplicate ids: c5$"):
        supplied_candidates(net, _rows(ids), snap_max_m=500)
    assert time.process_time() - t0 < 1.0
