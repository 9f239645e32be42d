"""The columnar snapshot cache: a store revision's venue and link columns on disk.

Reading 10M venues from SQL makes a tuple per row (most of a cold snapshot
build); the columns themselves are a few hundred MB.  :class:`SnapshotCache`
writes them once per **store revision** (at the first read of that revision,
by whichever process reads it first; a backend whose reader runs in a child
process has the child write the files, :meth:`SnapshotCache.fill`) into one
directory,

``<root>/<identity hash>/r<revision>-f<FORMAT_VERSION>/``

(numeric columns as ``.npy``, text as a UTF-8 blob + int64 offsets, a
``manifest.json`` with the sizes), and later reads of the same revision map
those files (``numpy.load(mmap_mode="r")``) instead of reading the rows:
numeric columns cost nothing until touched, text columns
(:class:`~geosvc.table.PackedText`) stay on disk until a response decodes a
row, and the pages are the kernel's page cache, shared by every worker
process mapping them (gunicorn workers, restarts).

Correctness never depends on the cache:

* the key is the store's identity (:meth:`Store.cache_identity
  <geosvc.store.base.Store.cache_identity>`: file path + inode, or server /
  database / schema), the revision read in the same transaction as the items
  and settings, and :data:`FORMAT_VERSION`; another revision or format is
  another directory, never read for this one;
* a directory is written under a temporary name and renamed into place
  whole; files of a published revision are never modified (a new revision
  writes a new directory), so a running snapshot's mappings stay valid;
* anything wrong when loading (missing file, truncated or unreadable array,
  sizes not matching the manifest) logs a warning and the store is read as
  without a cache (the bad directory is removed so the next read rewrites it);
* old revisions of a store are removed after a new one is published, keeping
  the newest :data:`KEEP` (unlinking a mapped file is safe on POSIX: the
  mapping keeps its pages until unmapped).

One filler per revision.  Filling a revision (reading its rows, writing the
columns, then the index's parts) is taken in turn under an exclusive
``flock`` on ``r<revision>-f<FORMAT_VERSION>.lock`` beside the revision's
directory (:func:`filling`): an import preparing the cache right after its
commit, the reloads of every server process and a restart all reach the same
revision at about the same time, and only the first reads the rows; the
others wait (at most ``wait_s``, the ``snapshot_cache_wait_s`` setting) and
then map what it published.  The kernel drops a ``flock`` when its holder
exits, killed or not, so a crashed filler blocks nobody (and, the publish
being a rename, leaves no half directory: at most a ``.tmp-`` one, removed by
a later :meth:`SnapshotCache.prune`).  A waiter that times out logs why and
reads the rows itself, as without the lock: the lock only saves work.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import mmap
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Final

import numpy as np

from geosvc.table import LinkTable, OptText, PackedText, VenueTable

log = logging.getLogger(__name__)

#: Bumped whenever the files' layout or meaning changes (old directories are ignored).
FORMAT_VERSION: Final = 1
#: Revisions of one store kept on disk (the newest ones).
KEEP: Final = 2
#: Stores with fewer venues are not cached by default (reading them is quick).
MIN_VENUES: Final = 50_000
#: Seconds a second filler of a revision waits for the first by default.
WAIT_S: Final = 300.0

_VENUE_TEXT: Final = ("code", "name")
_VENUE_OPT: Final = ("area_name", "address", "phone", "bank", "name_en", "source")
_VENUE_NUM: Final = ("kind", "lon", "lat", "level", "chan", "area", "hours",
                     "official_calendar", "accessible", "cross_province", "regional",
                     "machines", "status")


class SnapshotCache:
    """Venue and link columns per (store, revision) in a directory (see the module notes).

    Parameters
    ----------
    root : str or Path
        Directory of the cache (created when first written).
    min_venues : int
        Revisions with fewer venues are not written (0: every revision).
    wait_s : float
        Seconds to wait for another process filling the same revision
        (:meth:`filling`) before reading the rows here (0: do not wait).
    """

    def __init__(self, root: str | os.PathLike[str], *, min_venues: int = MIN_VENUES,
                 wait_s: float = WAIT_S) -> None:
        self.root = Path(root)
        self.min_venues = int(min_venues)
        self.wait_s = float(wait_s)

    def __repr__(self) -> str:
        return f"<SnapshotCache {str(self.root)!r}>"

    # ------------------------------------------------------------------ paths
    def store_dir(self, identity: str) -> Path:
        """Return the directory holding every cached revision of the store ``identity``."""
        return self.root / hashlib.sha256(identity.encode()).hexdigest()[:20]

    def path(self, identity: str, revision: int) -> Path:
        """Return the directory of one revision of one store."""
        return self.store_dir(identity) / f"r{int(revision)}-f{FORMAT_VERSION}"

    def filling(self, identity: str, revision: int) -> AbstractContextManager[FillLock]:
        """Hold the fill lock of ``revision`` (a context manager; see :func:`filling`)."""
        return filling(self.path(identity, revision), wait_s=self.wait_s)

    # ------------------------------------------------------------------ load
    def load(self, identity: str, revision: int) -> tuple[VenueTable, LinkTable] | None:
        """Map the columns of ``revision``; None when not cached or unreadable (logged)."""
        where = self.path(identity, revision)
        if not (where / "manifest.json").is_file():
            return None
        try:
            return _load(where, identity, revision)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning("snapshot cache %s is unreadable (%s); reading the store instead",
                        where, exc)
            shutil.rmtree(where, ignore_errors=True)
            return None

    # ------------------------------------------------------------------ save
    def save(self, identity: str, revision: int, venues: VenueTable,
             links: LinkTable) -> Path | None:
        """Write the columns of ``revision`` unless present or too small; return the directory.

        A failure to write (disk full, read-only directory) is logged and
        returns None: the cache only accelerates.
        """
        if len(venues) < self.min_venues:
            return None

        def write(tmp: Path) -> bool:
            write_columns(tmp, identity, revision, venues, links)
            return True

        return self.fill(identity, revision, write)

    def fill(self, identity: str, revision: int,
             write: Callable[[Path], bool]) -> Path | None:
        """Publish the directory of ``revision`` written by ``write(tmp)``; return it.

        For a reader that writes the files itself (:func:`write_columns` in
        another process: the columns never pass through this one).
        ``write`` returns False when it could not read (nothing is published,
        None is returned; the caller reads another way); a failure to write is
        logged and returns None.  The venue count is not known before the
        read: the caller decides whether the revision is worth caching.
        """
        where = self.path(identity, revision)
        if (where / "manifest.json").is_file():
            return where
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("snapshot cache %s not written (%s)", where, exc)
            return None

        def run(tmp: Path) -> None:
            if not write(tmp):  # not read: nothing to publish (the temp is removed)
                msg = "the columns were not read"
                raise _NotRead(msg)

        try:
            published = _publish(where, run)
        except _NotRead:
            return None
        if published is not None:
            self.prune(identity)
        return published

    def prune(self, identity: str, keep: int = KEEP) -> list[Path]:
        """Remove all but the newest ``keep`` revisions of ``identity`` (and stale temps)."""
        base = self.store_dir(identity)
        if not base.is_dir():
            return []
        revs = []
        removed = []
        for d in base.iterdir():
            name = d.name
            if name.startswith("r") and name.endswith(f"-f{FORMAT_VERSION}"):
                try:
                    revs.append((int(name[1:].split("-")[0]), d))
                except ValueError:
                    continue
            elif d.is_dir() and (name.startswith("r") or name.startswith(".tmp-")):
                # another format, or a temp left by a killed writer (older than an hour)
                try:
                    old = not name.startswith(".tmp-") or (
                        time.time() - d.stat().st_mtime > 3600)
                except OSError:
                    continue
                if old:
                    shutil.rmtree(d, ignore_errors=True)
                    removed.append(d)
        gone = sorted(revs)[:-keep] if keep > 0 else sorted(revs)
        for _, d in gone:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        if gone:  # the fill locks of the removed revisions and older ones
            oldest_kept = min((r for r, _ in sorted(revs)[len(gone):]), default=None)
            for lock in base.glob(f"r*-f{FORMAT_VERSION}.lock"):
                try:
                    rev = int(lock.name[1:].split("-")[0])
                except ValueError:
                    continue
                if (oldest_kept is None or rev < oldest_kept) and _unlink_free(lock):
                    removed.append(lock)
        return removed


class FillLock:
    """What :func:`filling` yields: whether this thread holds the fill lock, and the wait.

    Attributes
    ----------
    held : bool
        True: this thread holds the lock (it fills, or maps what a filler it
        waited for published); False: the wait timed out or the lock file
        could not be opened (logged): fill without it.
    waited_s : float
        Seconds spent waiting for another holder (0.0 when it was free).
    """

    __slots__ = ("held", "waited_s")

    def __init__(self, held: bool, waited_s: float) -> None:
        self.held = held
        self.waited_s = waited_s

    def __repr__(self) -> str:
        return f"<FillLock held={self.held} waited_s={self.waited_s:.1f}>"


#: Fill locks this process holds: lock path -> [owning thread id, depth, fd].
_HELD: dict[str, list[int]] = {}
_HELD_GUARD = threading.Lock()


def _forget_held() -> None:
    """In a forked child: close the inherited lock descriptors (the parent keeps its locks)."""
    for _, _, fd in _HELD.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_held)


def lock_path(where: Path) -> Path:
    """Return the fill lock file of the revision directory ``where`` (beside it)."""
    return where.parent / f"{where.name}.lock"


@contextmanager
def filling(where: Path, *, wait_s: float = WAIT_S) -> Iterator[FillLock]:
    """Hold the exclusive fill lock of the revision directory ``where`` while filling it.

    ``flock(LOCK_EX)`` on :func:`lock_path`, polled up to ``wait_s`` seconds
    while another process (or thread) holds it; re-entrant within one thread
    (an import's prepare holds it across the read and the index parts).  The
    caller checks again, once it holds the lock, whether the directory was
    published meanwhile (then maps it), and fills only when it was not.
    Yields a :class:`FillLock`; ``held`` False after a timeout (logged with
    the holder's pid) or when the lock file cannot be made (logged): the
    caller then fills as without a lock.  Released when the block ends, and
    by the kernel when the process dies.
    """
    path = str(lock_path(where))
    me = threading.get_ident()
    with _HELD_GUARD:
        mine = _HELD.get(path)
        if mine is not None and mine[0] == me:
            mine[1] += 1
        else:
            mine = None
    if mine is not None:
        try:
            yield FillLock(True, 0.0)
        finally:
            with _HELD_GUARD:
                mine[1] -= 1
        return
    fd, waited = _acquire(Path(path), wait_s)
    if fd is None:
        yield FillLock(False, waited)
        return
    entry = [me, 1, fd]
    with _HELD_GUARD:
        _HELD[path] = entry
    try:
        yield FillLock(True, waited)
    finally:
        with _HELD_GUARD:
            ours = _HELD.get(path) is entry  # not in a forked child (closed there)
            if ours:
                del _HELD[path]
        if ours:
            os.close(fd)  # releases the flock


def _acquire(path: Path, wait_s: float) -> tuple[int | None, float]:
    """Take ``flock(LOCK_EX)`` on ``path``: (fd, seconds waited); fd None when not taken."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        log.warning("snapshot cache %s: no fill lock (%s); filling without it", path, exc)
        return None, 0.0
    started = time.monotonic()
    pause = 0.02
    said = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                log.warning("snapshot cache %s: no fill lock (%s); filling without it",
                            path, exc)
                return None, time.monotonic() - started
        else:
            try:  # who fills, for a waiter's log
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError:
                pass
            return fd, (time.monotonic() - started) if said else 0.0
        waited = time.monotonic() - started
        if waited >= wait_s:
            os.close(fd)
            log.warning("snapshot cache %s: process %s has been filling it for %.1f s "
                        "(snapshot_cache_wait_s); reading the store here instead",
                        path.with_suffix(""), _holder(path), waited)
            return None, waited
        if not said:
            said = True
            log.info("snapshot cache %s: waiting for process %s, which is filling it "
                     "(at most %.0f s)", path.with_suffix(""), _holder(path), wait_s)
        time.sleep(min(pause, max(wait_s - waited, 0.0)))
        pause = min(pause * 2, 0.25)


def _holder(path: Path) -> str:
    """Return the pid written in a lock file by its holder (``?`` when unknown)."""
    try:
        return path.read_text(encoding="ascii").strip() or "?"
    except (OSError, ValueError):
        return "?"


def _unlink_free(path: Path) -> bool:
    """Remove the lock file ``path`` unless someone holds it; return whether it was removed."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink()
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


class _NotRead(Exception):
    """A :meth:`SnapshotCache.fill` writer did not read the columns."""


def save_arrays(where: Path, name: str,
                arrays: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]],
                ) -> Path | None:
    """Write ``arrays`` as ``<where>/<name>/`` (one ``.npy`` each and a manifest), atomically.

    Used for what a snapshot derives from a revision's columns (the index's
    parts).  ``arrays``: a mapping, or ``(key, array)`` pairs (written one at
    a time as they come: an iterator making each array when asked holds one
    at a time; it is not consumed when nothing is written).  Nothing is
    written when ``<where>`` is gone (pruned) or the directory exists
    already; a failure is logged and returns None.
    """
    target = where / name
    if (target / "manifest.json").is_file():
        return target
    if not where.is_dir():
        return None

    def write(tmp: Path) -> None:
        files: dict[str, int] = {}
        for key, a in arrays.items() if isinstance(arrays, Mapping) else arrays:
            _put(tmp, key, a, files)
            del a
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        (tmp / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")

    return _publish(target, write)


def _publish(target: Path, write: Callable[[Path], None]) -> Path | None:
    """Write a directory with ``write(tmp)`` beside ``target``, then rename it to ``target``.

    Published directories are never modified: when another process
    published ``target`` first, its copy is kept and ours removed.  A failure
    is logged and returns None (the cache only accelerates).
    """
    tmp = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        write(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "manifest.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process published it first
        tmp = None
    except OSError as exc:
        log.warning("snapshot cache %s not written (%s)", target, exc)
        return None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def release(*tables: VenueTable | LinkTable | Any) -> int:
    """Drop this process's resident pages of the mapped columns of ``tables``; return them.

    ``madvise(MADV_DONTNEED)`` on each column's file mapping: the pages stay
    in the kernel's page cache (shared, reclaimable) and are mapped again
    when touched, but no longer count in this process's RSS.  For columns a
    one-off pass read whole (the cold build hashes every code) and the
    snapshot then touches only row by row.  Columns not mapped from a file
    are left alone.  Returns the number of mappings released.
    """
    done = 0
    seen: set[int] = set()
    for table in tables:
        for col in table._columns():
            parts = [col.values, col.rows] if isinstance(col, OptText) else [col]
            for part in parts:
                arrays = ([part.blob, part.offsets, part.missing]
                          if isinstance(part, PackedText) else [part])
                for a in arrays:
                    m = _mapping(a)
                    if m is not None and id(m) not in seen:
                        seen.add(id(m))
                        m.madvise(mmap.MADV_DONTNEED)
                        done += 1
    return done


def _mapping(a: object) -> mmap.mmap | None:
    """Return the file mapping an array's memory belongs to, or None."""
    while a is not None and not isinstance(a, mmap.mmap):
        a = getattr(a, "base", None)
    return a


def discard_arrays(where: Path, name: str) -> None:
    """Remove what :func:`save_arrays` wrote (found not to fit); a later save rewrites it."""
    shutil.rmtree(where / name, ignore_errors=True)


def load_arrays(where: Path, name: str) -> dict[str, np.ndarray] | None:
    """Map what :func:`save_arrays` wrote; None when absent or unreadable (logged, removed)."""
    target = where / name
    if not (target / "manifest.json").is_file():
        return None
    try:
        files = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["files"]
        out = {}
        for fname, size in files.items():
            got = (target / fname).stat().st_size
            if got != size:
                msg = f"{fname} has {got} bytes, the manifest says {size}"
                raise ValueError(msg)
            out[fname[:-len(".npy")]] = np.load(target / fname, mmap_mode="r",
                                                allow_pickle=False).view(np.ndarray)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("snapshot cache %s is unreadable (%s); building instead", target, exc)
        shutil.rmtree(target, ignore_errors=True)
        return None
    return out


# ---------------------------------------------------------------------- files
def _put(where: Path, name: str, a: np.ndarray, files: dict[str, int]) -> None:
    path = where / f"{name}.npy"
    np.save(path, np.ascontiguousarray(a), allow_pickle=False)
    files[path.name] = path.stat().st_size


def _put_text(where: Path, name: str, col: Any, files: dict[str, int]) -> None:
    packed = col if isinstance(col, PackedText) else PackedText.pack(col)
    _put(where, f"{name}.blob", packed.blob, files)
    _put(where, f"{name}.off", packed.offsets, files)
    if packed.missing is not None:
        _put(where, f"{name}.none", packed.missing, files)


def write_columns(where: Path, identity: str, revision: int, venues: VenueTable,
                  links: LinkTable) -> None:
    """Write the files of one revision's columns into the directory ``where`` (a temp)."""
    files: dict[str, int] = {}
    opt: dict[str, bool] = {}
    for name in _VENUE_TEXT:
        _put_text(where, f"v.{name}", getattr(venues, name), files)
    for name in _VENUE_NUM:
        _put(where, f"v.{name}", getattr(venues, name), files)
    for name in _VENUE_OPT:
        col: OptText = getattr(venues, name)
        opt[name] = col.rows is not None
        _put_text(where, f"v.{name}", col.values, files)
        if col.rows is not None:
            _put(where, f"v.{name}.rows", col.rows, files)
    _put_text(where, "l.venue_code", links.venue_code, files)
    _put(where, "l.item", links.item, files)
    _put(where, "l.chan", links.chan, files)
    manifest = {
        "format": FORMAT_VERSION, "identity": identity, "revision": int(revision),
        "venues": len(venues), "links": len(links), "sparse": opt,
        "area_codes": list(venues.area_codes), "hours_texts": list(venues.hours_texts),
        "item_codes": list(links.item_codes), "files": files,
    }
    for f in where.iterdir():
        with open(f, "rb") as fh:  # data on disk before the directory is published
            os.fsync(fh.fileno())
    (where / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False),
                                         encoding="utf-8")


def _load(where: Path, identity: str, revision: int) -> tuple[VenueTable, LinkTable]:
    m = json.loads((where / "manifest.json").read_text(encoding="utf-8"))
    if (m["format"], m["identity"], m["revision"]) != (FORMAT_VERSION, identity, revision):
        msg = "its manifest names another store, revision or format"
        raise ValueError(msg)
    files: dict[str, int] = m["files"]
    for name, size in files.items():
        got = (where / name).stat().st_size
        if got != size:
            msg = f"{name} has {got} bytes, the manifest says {size}"
            raise ValueError(msg)

    def arr(name: str, rows: int | None = None) -> np.ndarray:
        if f"{name}.npy" not in files:
            msg = f"{name}.npy is not in the manifest"
            raise KeyError(msg)
        a = np.load(where / f"{name}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
        if rows is not None and len(a) != rows:
            msg = f"{name} has {len(a)} rows, expected {rows}"
            raise ValueError(msg)
        return a

    def text(name: str, rows: int | None) -> PackedText:
        off = arr(f"{name}.off", None if rows is None else rows + 1)
        blob = arr(f"{name}.blob")
        if len(off) == 0 or int(off[0]) != 0 or int(off[-1]) != len(blob):
            msg = f"{name}: offsets do not span the text"
            raise ValueError(msg)
        none = arr(f"{name}.none", len(off) - 1) if f"{name}.none.npy" in files else None
        return PackedText(blob, off, none)

    n, n_links = int(m["venues"]), int(m["links"])
    cols: dict[str, Any] = {name: text(f"v.{name}", n) for name in _VENUE_TEXT}
    cols.update({name: arr(f"v.{name}", n) for name in _VENUE_NUM})
    for name in _VENUE_OPT:
        if m["sparse"][name]:
            rows = arr(f"v.{name}.rows")
            cols[name] = OptText(text(f"v.{name}", len(rows)), rows, n)
        else:
            cols[name] = OptText(text(f"v.{name}", n), None, n)
    venues = VenueTable(**cols, area_codes=tuple(m["area_codes"]),
                        hours_texts=tuple(m["hours_texts"]))
    links = LinkTable(text("l.venue_code", n_links), arr("l.item", n_links),
                      tuple(m["item_codes"]), arr("l.chan", n_links))
    return venues, links
