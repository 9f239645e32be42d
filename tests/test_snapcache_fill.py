"""One filler per snapshot cache revision (geosvc.store.snapcache.filling), with real processes.

Each filler is a real ``python`` process on a real SQLite file, reading it
the way an import's prepare (``prepare_snapshot``) or a server's load
(``GeoService``) does, the columnar child included (``COLUMNAR_MIN_ROWS``
lowered in the child so a small store takes that path).  Whether a process
read the rows is told by its own log: the columnar read logs "reading the
columns of revision N in a child process" when it starts one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from geosvc.app.service import GeoService
from geosvc.config import Settings
from geosvc.index import PARTS_FORMAT
from geosvc.store import Batch, open_store
from geosvc.store.snapcache import SnapshotCache, filling, lock_path
from tests.test_snapcache import _store, _venues

ROOT = Path(__file__).resolve().parents[1]
READ = "reading the columns of revision"
WAITING = "waiting for process"

#: The child: hold the lock / stall mid-fill / prepare / load, then print what it served.
CHILD = r"""
import json, logging, sys, time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
from geosvc.app.dataset import prepare_snapshot, snapshot_cache
from geosvc.app.service import GeoService
from geosvc.config import Settings
from geosvc.store import Batch, open_store
from geosvc.store.sqlite import SQLiteStore

SQLiteStore.COLUMNAR_MIN_ROWS = 1  # a small store takes the columnar child's path too
mode, db = sys.argv[1], sys.argv[2]
settings = Settings.load(overrides={"db": db, "reload_interval_s": 0})
cache = snapshot_cache(settings)
with open_store(db) as st:
    identity, revision = st.cache_identity(), st.revision()


def answers(index):
    pts = [(118.0 + i * 0.007, 30.0 + i * 0.001) for i in range(8)]
    return {"codes": [index.venue(p).code for p in range(len(index))],
            "nearest": [index.nearest_k(x, y, 3)[0].tolist() for x, y in pts]}


def load():
    snap = GeoService(settings).snapshot
    out = answers(snap.index)
    out["revision"] = snap.revision
    print(json.dumps(out), flush=True)


if mode == "hold":  # an import's prepare that took the lock first, released by a line
    with cache.filling(identity, revision) as lock:
        print(f"holding {lock.held}", flush=True)
        sys.stdin.readline()
        done = prepare_snapshot(db, settings)
    print(json.dumps({"where": str(done.where)}), flush=True)
elif mode == "stall":  # killed in the middle of writing the revision's files
    with cache.filling(identity, revision):
        def write(tmp):
            (tmp / "v.lon.npy").write_bytes(b"half")
            print("mid-fill", flush=True)
            time.sleep(600)
            return True
        cache.fill(identity, revision, write)
elif mode == "prepare":
    done = prepare_snapshot(db, settings)
    print(json.dumps({"where": str(done.where)}), flush=True)
else:
    load()
"""


class Child:
    """A child process whose output lines are gathered as they come."""

    def __init__(self, mode: str, db: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-c", CHILD, mode, str(db)], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self.started = time.monotonic()
        self.ended: float | None = None
        self._threads = [threading.Thread(target=self._gather, args=(s, lines), daemon=True)
                         for s, lines in ((self.proc.stdout, self.out),
                                          (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    @staticmethod
    def _gather(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, *, stderr: bool = False, timeout: float = 60) -> None:
        lines = self.err if stderr else self.out
        deadline = time.monotonic() + timeout
        while not any(text in line for line in lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.2)  # the last lines
                if any(text in line for line in lines):
                    return
                pytest.fail(f"{text!r} never came (exit {self.proc.poll()}):\n"
                            + "\n".join(self.out + self.err))
            time.sleep(0.02)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 120) -> dict[str, Any]:
        code = self.proc.wait(timeout)
        self.ended = time.monotonic()
        self._close()
        assert code == 0, "\n".join(self.out + self.err)
        return json.loads(self.out[-1])

    def _close(self) -> None:
        for t in self._threads:
            t.join(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()

    @property
    def log(self) -> str:
        return "\n".join(self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        self._close()


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    """A real store (stamped, nothing cached), the children's environment, its revision dir."""
    db = _store(tmp_path / "odd.sqlite", _venues(300))
    with open_store(str(db)) as st:
        st.read(SnapshotCache(tmp_path / "none", min_venues=10**9))  # stamps the store's id
        identity, revision = st.cache_identity(), st.revision()
    assert identity is not None
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "GEOSVC_CACHE_DIR": str(cache), "GEOSVC_SNAPSHOT_CACHE_MIN_VENUES": "0",
        "GEOSVC_SNAPSHOT_CACHE_WAIT_S": "120"}
    where = SnapshotCache(cache / "snapshots").path(identity, revision)
    assert not (tmp_path / "none").exists() and not cache.exists()
    return db, env, where


def _rows_answers(db: Path, tmp_path: Path) -> dict[str, Any]:
    """What a load of the rows (no cache) answers, as the children print it."""
    settings = Settings.load(env={}, overrides={"db": str(db), "snapshot_cache": False,
                                                "cache_dir": str(tmp_path / "plain"),
                                                "reload_interval_s": 0})
    snap = GeoService(settings).snapshot
    idx = snap.index
    pts = [(118.0 + i * 0.007, 30.0 + i * 0.001) for i in range(8)]
    return {"codes": [idx.venue(p).code for p in range(len(idx))],
            "nearest": [idx.nearest_k(x, y, 3)[0].tolist() for x, y in pts],
            "revision": snap.revision}


def _published(where: Path) -> bool:
    return ((where / "manifest.json").is_file()
            and (where / f"index-p{PARTS_FORMAT}" / "manifest.json").is_file())


@contextmanager
def _holding(mode: str, ready: str, db: Path, env: dict[str, str]) -> Iterator[Child]:
    """A child in ``mode`` once it printed ``ready`` (it holds the fill lock); killed after."""
    first = Child(mode, db, env)
    try:
        first.wait_for(ready)
        yield first
    finally:
        first.kill()


def _waiting_on(first: Child, db: Path, env: dict[str, str]) -> Child:
    """A loading child once it says it waits for ``first``'s fill lock."""
    second = Child("load", db, env)
    second.wait_for(f"{WAITING} {first.proc.pid}", stderr=True)
    return second


def test_a_second_filler_waits_and_maps_the_first_ones_files(
        world: tuple[Path, dict[str, str], Path], tmp_path: Path) -> None:
    """An import's prepare holds the revision; a server load waits, then maps its files."""
    db, env, where = world
    with _holding("hold", "holding True", db, env) as first:
        second = _waiting_on(first, db, env)
        assert not where.exists()  # nothing published yet: the second one is waiting
        first.send("go")
        first.finish()
        got = second.finish()
    assert READ in first.log  # the first read the rows (its columnar child)...
    assert READ not in second.log  # ...the second never did
    assert "mapped from the snapshot cache another process filled" in second.log
    assert _published(where)
    assert got == _rows_answers(db, tmp_path)
    assert not list(where.parent.glob(".tmp-*"))


def test_a_filler_killed_mid_fill_blocks_nobody(
        world: tuple[Path, dict[str, str], Path], tmp_path: Path) -> None:
    """SIGKILL of the lock's holder mid-write: the waiter goes on at once and fills it whole."""
    db, env, where = world
    with _holding("stall", "mid-fill", db, env) as first:
        second = _waiting_on(first, db, env)
        os.kill(first.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        got = second.finish()
    assert first.proc.returncode == -signal.SIGKILL
    assert second.ended is not None and second.ended - killed < 60  # not the 120 s wait
    assert "has been filling it for" not in second.log  # no timeout: the lock was free
    assert READ in second.log  # it read the rows itself: nothing was published
    assert _published(where)
    assert got == _rows_answers(db, tmp_path)
    # the killed writer's half directory was never published (its temp is left for prune)
    assert [p.name for p in where.parent.iterdir() if p.name.startswith(".tmp-")]
    assert not (where / "v.lon.npy").read_bytes().startswith(b"half")


def test_a_waiter_that_times_out_reads_the_rows(
        world: tuple[Path, dict[str, str], Path], tmp_path: Path) -> None:
    """Past ``snapshot_cache_wait_s`` the waiter reads the rows itself (logged), as before."""
    db, env, where = world
    with _holding("hold", "holding True", db, env) as first:
        second = Child("load", db, {**env, "GEOSVC_SNAPSHOT_CACHE_WAIT_S": "1"})
        got = second.finish()
        assert second.ended is not None and second.ended - second.started >= 1
        assert f"process {first.proc.pid} has been filling it for" in second.log
        assert "reading the store here instead" in second.log
        assert READ in second.log
        assert got == _rows_answers(db, tmp_path)
        assert _published(where)  # written by the one that timed out
        # the holder, let go, finds the revision published: it maps, reads nothing
        first.send("go")
        assert first.finish() == {"where": str(where)}
        assert READ not in first.log


def test_prepare_and_load_in_turn_read_the_rows_once(
        world: tuple[Path, dict[str, str], Path], tmp_path: Path) -> None:
    """An import's prepare and a server load started together: one of them reads the rows."""
    db, env, where = world
    a, b = Child("prepare", db, env), Child("load", db, env)
    try:
        a.finish()
        got = b.finish()
    finally:
        a.kill()
        b.kill()
    assert (READ in a.log) != (READ in b.log), a.log + "\n" + b.log
    assert got == _rows_answers(db, tmp_path) and _published(where)


# ---------------------------------------------------------------------- in one process
def test_the_lock_is_reentrant_per_thread_and_excludes_other_threads(tmp_path: Path) -> None:
    where = tmp_path / "r1-f1"
    seen: list[tuple[bool, float]] = []

    def other(wait_s: float) -> None:
        with filling(where, wait_s=wait_s) as lock:
            seen.append((lock.held, lock.waited_s))

    with filling(where, wait_s=5) as outer:
        assert outer.held and outer.waited_s == 0.0
        with filling(where, wait_s=0) as inner:  # the same thread: re-entrant, no wait
            assert inner.held
        t = threading.Thread(target=other, args=(0.3,))
        t.start()
        t.join()
        assert seen[-1][0] is False and seen[-1][1] >= 0.3  # timed out: held by us
        t = threading.Thread(target=other, args=(30,))
        t.start()
        time.sleep(0.3)
        assert t.is_alive()  # still waiting for us
    t.join(10)
    assert seen[-1][0] is True and 0.2 < seen[-1][1] < 10
    assert lock_path(where).is_file()


def test_prune_removes_the_locks_of_removed_revisions(tmp_path: Path) -> None:
    db = _store(tmp_path / "odd.sqlite")
    cache = SnapshotCache(tmp_path / "snap", min_venues=0)
    with open_store(str(db)) as st:
        first = st.read(cache)
        identity = st.cache_identity()
        assert identity is not None and first.cache_dir is not None
        assert lock_path(first.cache_dir).is_file()
        for name in ("renamed", "again"):
            st.write(Batch(venues=[dataclasses.replace(_venues()[3], name=name)]))
            last = st.read(cache)
    assert last.cache_dir is not None
    assert not first.cache_dir.exists() and not lock_path(first.cache_dir).exists()
    assert lock_path(last.cache_dir).is_file()


def test_a_forked_child_neither_holds_nor_keeps_its_parents_lock(tmp_path: Path) -> None:
    """A fork while the lock is held (a server forking workers mid-reload) passes no hold on.

    The child does not count as the holder, and its inherited descriptor does
    not keep the lock held once the parent lets go.
    """
    where = tmp_path / "r1-f1"
    read, write = os.pipe()
    with filling(where, wait_s=5) as lock:
        assert lock.held
        pid = os.fork()
        if pid == 0:  # the child: not re-entrant on its parent's hold, then stays alive
            os.close(read)
            with filling(where, wait_s=0.2) as mine:
                os.write(write, b"1" if mine.held else b"0")
            time.sleep(3)
            os._exit(0)
        os.close(write)
        assert os.read(read, 1) == b"0"
        os.close(read)
    try:  # released by the parent while the child lives: free at once
        with filling(where, wait_s=0) as again:
            assert again.held and again.waited_s == 0.0
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
