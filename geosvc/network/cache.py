"""On-disk cache of built networks: one uncompressed ``.npz`` per (file, mode, speeds).

The key is the sha256 of the source file's bytes + the mode + the speed
settings, the turn cost table and the OSM rules that shape the network +
:data:`FORMAT_VERSION`, so editing the extract, a speed, a rule of the mode
registry or this code's format builds a new file; stale files are
simply never read again.  Arrays are loaded with ``allow_pickle=False`` (no
pickled objects in the cache).  Files are written to a temporary name and
renamed, so readers never see half a file.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import time
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from geosvc.errors import InvalidParameter
from geosvc.modes import TRAVEL_MODES
from geosvc.network.graph import _ARRAY_FIELDS, RoadNetwork, check_mode
from geosvc.network.osm import build_network, file_sha256

if TYPE_CHECKING:
    from collections.abc import Callable

    from geosvc.config import Settings

__all__ = ["FORMAT_VERSION", "cache_key", "cache_path", "load_network", "read_npz", "write_npz"]

#: Bump when the arrays or the build rules change.  2: ``meta["build"]``, the build
#: report (clipped ways, missing references, components); compressed XML extracts.
#: 3: ``edge_layer`` (below / on / above the ground: underground ways, bridges).
#: 4: the OSM rules of each mode (:class:`geosvc.modes.OsmRules`: access overrides,
#: cycleways with ``foot=designated``, pedestrian areas, steps, ferries, one-way
#: exceptions, maxspeed zones), the same in both readers; geodesic lengths from .pbf.
#: 5: turn-expanded drive networks (restrictions, turn costs; ``meta["build"]["turns"]``).
#: 6: closed nodes (a gate with ``access=no`` for the mode: the ways no longer meet there;
#: ``meta["build"]["nodes_closed"]``); the key also hashes the mode's OSM rules.
#: 7: crossing times on foot (``OsmRules.crossing_s``) folded into ``edge_time_s``.
#: 8: gate times (``OsmRules.barrier_s``: 30 s per gate passed, as Valhalla) on
#: zero-length barrier edges or turn edges (``meta["build"]["barriers_timed"]``).
FORMAT_VERSION = 8


def cache_key(source_hash: str, mode: str, settings: Settings) -> str:
    """Return the hex key of a cached network (sha256 of everything that shapes it).

    Examples
    --------
    >>> from geosvc.config import Settings
    >>> s = Settings()
    >>> cache_key("ab", "walk", s) == cache_key("ab", "walk", s.with_(bike_speed_kph=20))
    True
    >>> cache_key("ab", "walk", s) == cache_key("ab", "walk", s.with_(walk_speed_kph=5))
    False
    """
    spec = TRAVEL_MODES[check_mode(mode)]
    speed = {spec.speed_setting: getattr(settings, spec.speed_setting)}
    turns = None if spec.turns is None else repr(spec.turns)  # the cost table shapes it too
    rules = None if spec.osm is None else repr(spec.osm)  # and so do the mode's OSM rules
    blob = json.dumps({"src": source_hash, "mode": mode, "speed": speed, "turns": turns,
                       "rules": rules, "format": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_path(cache_dir: str | os.PathLike[str], osm_path: str | os.PathLike[str], mode: str,
               key: str) -> Path:
    """``<cache_dir>/<file stem>-<mode>-<key[:16]>.npz``."""
    stem = Path(osm_path).name.split(".")[0] or "network"
    return Path(cache_dir) / f"{stem}-{mode}-{key[:16]}.npz"


def write_npz(net: RoadNetwork, path: str | os.PathLike[str]) -> Path:
    """Save ``net`` atomically as an uncompressed ``.npz`` (arrays + a JSON header)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"mode": net.mode, "crs": net.crs, "source_hash": net.source_hash,
              "format": FORMAT_VERSION, "meta": net.meta}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, header=np.array(json.dumps(header, default=str)),
                 **{name: getattr(net, name) for name in _ARRAY_FIELDS})
    os.replace(tmp, path)
    return path


def _mapped_members(path: str | os.PathLike[str],
                    names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """Memory-map the arrays ``names`` of an uncompressed ``.npz`` (read-only).

    Each member of a stored (not deflated) zip is a ``.npy`` file lying whole
    in the archive: its data start after the zip's local header and the
    ``.npy`` header, so ``np.memmap`` can map them in place.  Processes that
    load the same cache share its pages; nothing is read until it is used.
    None when a member is compressed, of an object dtype or missing (the
    caller then reads the file).
    """
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf:
        infos = {info.filename: info for info in zf.infolist()}
    with open(path, "rb") as fh:
        # One read-only mapping of the whole file, the arrays are views of it:
        # one file descriptor per cache (np.memmap per array held one each).
        whole = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        for name in names:
            info = infos.get(f"{name}.npy")
            if info is None or info.compress_type != zipfile.ZIP_STORED:
                return None
            fh.seek(info.header_offset)
            local = fh.read(30)
            if local[:4] != b"PK\x03\x04":
                return None
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(fh)
            if dtype.hasobject:
                return None
            if int(np.prod(shape)) == 0:
                out[name] = np.zeros(shape, dtype=dtype)
                continue
            out[name] = np.ndarray(shape, dtype=dtype, buffer=whole, offset=fh.tell(),
                                   order="F" if fortran else "C")
    return out


def read_npz(path: str | os.PathLike[str], *, mmap: bool = True) -> RoadNetwork:
    """Load a network saved by :func:`write_npz` (no pickle).

    With ``mmap`` (default) the arrays are memory-mapped read-only from the
    file (:func:`_mapped_members`): loading costs the header, the pages are
    read when used and shared by every process that maps the same file.

    Raises
    ------
    InvalidParameter
        The file is not a network cache of this format version.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            if header.get("format") != FORMAT_VERSION:
                msg = f"{Path(path).name!r} has cache format {header.get('format')}, " \
                      f"expected {FORMAT_VERSION}"
                raise InvalidParameter("cache", msg)
            mapped = _mapped_members(path, _ARRAY_FIELDS) if mmap else None
            arrays = mapped if mapped is not None else {
                name: data[name] for name in _ARRAY_FIELDS}
    except (OSError, KeyError, ValueError, struct.error, zipfile.BadZipFile) as exc:
        if isinstance(exc, InvalidParameter):
            raise
        msg = f"{Path(path).name!r} is not a readable network cache: {exc}"
        raise InvalidParameter("cache", msg) from exc
    return RoadNetwork(mode=header["mode"], crs=header["crs"],
                       source_hash=header["source_hash"],
                       meta=dict(header.get("meta") or {}), **arrays)


def load_network(
    osm_path: str | os.PathLike[str],
    mode: str,
    *,
    settings: Settings,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool | Callable[[str], None] = False,
) -> RoadNetwork:
    """Return the ``mode`` network of ``osm_path``, from the cache when it is there.

    Hashes the source file (sha256; about 0.5 s per 250 MB), looks for
    ``cache_path(...)`` in ``cache_dir`` (default ``settings.cache_dir``),
    loads it (fast: uncompressed arrays) or builds the network with
    :func:`geosvc.network.osm.build_network` and writes it.  A corrupt cache
    file is rebuilt with a warning; an unwritable cache directory only warns.

    ``net.meta`` records ``cache_path``, ``from_cache`` and ``load_s``.

    Raises
    ------
    InvalidParameter
        See :func:`geosvc.network.osm.build_network`.
    """
    check_mode(mode)
    path = Path(osm_path)
    if not path.is_file():
        raise InvalidParameter("osm_path", f"{str(path)!r} does not exist or is not a file")
    started = time.perf_counter()
    step = progress if callable(progress) else None
    src_hash = file_sha256(path)
    key = cache_key(src_hash, mode, settings)
    root = cache_dir if cache_dir is not None else settings.cache_dir
    target = cache_path(root, path, mode, key)
    if target.is_file():
        try:
            net = read_npz(target)
        except InvalidParameter as exc:
            warnings.warn(f"rebuilding network cache {target}: {exc.detail}", stacklevel=2)
        else:
            net.meta.update(cache_path=str(target), from_cache=True,
                            load_s=round(time.perf_counter() - started, 3))
            return net
    net = build_network(path, mode, settings=settings, progress=step, source_hash=src_hash)
    try:
        write_npz(net, target)
    except OSError as exc:
        warnings.warn(f"cannot write network cache {target}: {exc.strerror}", stacklevel=2)
    net.meta.update(cache_path=str(target), from_cache=False,
                    load_s=round(time.perf_counter() - started, 3))
    return net
