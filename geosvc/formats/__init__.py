"""Output formats: one registered class per format, for the CLI and HTTP alike.

A format is a subclass of :class:`OutputFormat` with a ``name`` (the HTTP
``f=`` value), a ``media_type`` (the answer's ``Content-Type``, matched
against ``Accept``), file ``suffixes`` (``geosvc coverage --out x.csv``), the
result ``kinds`` it writes, and two writers: :meth:`OutputFormat.render`
(bytes: the HTTP body) and :meth:`OutputFormat.write` (files).  It joins
the service through :func:`register_format`, the one door the built-ins use
too, as pygeoapi's formatter plugins (``extension``, ``mimetype``,
``write(options, data)``) and datasette's ``register_output_renderer``::

    @register_format
    class Tsv(OutputFormat):
        name, media_type, suffixes = "tsv", "text/tab-separated-values", (".tsv",)
        kinds = frozenset({PLAN})

        def render(self, output: Output) -> bytes:
            ...

The CLI picks a format by suffix (:func:`format_for_path`), HTTP by ``f`` or
``Accept`` (:func:`format_named`, and the negotiation of
:mod:`geosvc.web._respond`); the OpenAPI document lists the registered names.

What a format receives is an :class:`Output`: the result ``kind``, its plain
JSON document (as the API answers it) and ``extra``, the optional parts a
drawing format uses and only some callers can supply (:data:`CIRCLES`,
:data:`MAP`); a format names the parts it draws in ``needs``.

The built-in formats are registered by importing :data:`BUILTIN_MODULES` on
first use (datasette's ``DEFAULT_PLUGINS``): the data formats of
:mod:`geosvc.formats.builtin` and the HTML of :mod:`geosvc.render.formats`.
This module imports neither, so nothing below ``render/`` imports ``render/``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from geosvc.errors import ConfigError, InvalidParameter

__all__ = [
    "BUILTIN_MODULES",
    "CIRCLES",
    "COVERAGE",
    "FEATURES",
    "KINDS",
    "MAP",
    "PLAN",
    "Output",
    "OutputFormat",
    "format_for_path",
    "format_named",
    "formats",
    "names",
    "register_format",
    "suffixes",
    "unregister_format",
    "write_atomic",
    "write_output",
]

#: A coverage document (``geosvc coverage``, ``GET /api/v1/coverage``).
COVERAGE = "coverage"
#: A site plan (``geosvc plan``, ``POST /api/v1/plans``).
PLAN = "plan"
#: A GeoJSON FeatureCollection of venues (``GET /api/v1/venues``).
FEATURES = "features"
#: The result kinds a format may write, with what their document is.
KINDS: Mapping[str, str] = {
    COVERAGE: "coverage document: headline figures, by_area, gaps, catchments "
              "(and circles, when asked)",
    PLAN: "site plan: before/after shares and the selected sites",
    FEATURES: "GeoJSON FeatureCollection of venues",
}

#: Need: the coverage document carries ``circles`` (the service-circle polygon).
CIRCLES = "circles"
#: Need: ``Output.extra`` carries the map context a caller can supply. Coverage:
#: ``venues`` (FeatureCollection), ``population`` ([(lon, lat, count)]),
#: ``curves`` ({label: [(minutes, share)]}), ``title``, ``subtitle``; plan:
#: ``demand_points`` ([lon, lat, count, state]) and ``fixed_sites`` ([lon, lat]).
MAP = "map"

#: Modules whose import registers the built-in formats, loaded on first use.
BUILTIN_MODULES: tuple[str, ...] = ("geosvc.formats.builtin", "geosvc.render.formats")

_NAME = re.compile(r"^[a-z0-9][a-z0-9_+.-]*$")
_SUFFIX = re.compile(r"^\.[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class Output:
    """One result to write: its kind, its JSON document and optional extras.

    Attributes
    ----------
    kind : str
        A key of :data:`KINDS`.
    doc : mapping
        The document as the API answers it (coordinates in ``doc["crs"]``
        when present, else WGS-84).
    extra : mapping
        Optional parts (see :data:`MAP`) and writer options (e.g. ``tables``
        of the HTML report); formats ignore what they do not use.
    """

    kind: str
    doc: Mapping[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)


class OutputFormat(ABC):
    """Base class of an output format; subclass it and :func:`register_format` it.

    Class attributes
    ----------------
    name : str
        Lower-case token: the HTTP ``f`` value.
    media_type : str
        ``Content-Type`` of the answer (without parameters).
    suffixes : tuple of str
        File suffixes, lower case with the dot; the first names HTTP downloads.
    kinds : frozenset of str
        The result kinds written (keys of :data:`KINDS`).
    accept : tuple of str
        Further media types of ``Accept`` this format satisfies (GeoJSON is
        JSON: ``application/json``).
    needs : frozenset of str
        Optional parts it draws (:data:`CIRCLES`, :data:`MAP`); a caller
        supplies those it can.
    options : frozenset of str
        Writer options it understands in ``Output.extra`` (e.g. ``tables``).
    disposition : str or None
        ``attachment`` to have browsers save HTTP answers as a file.
    description : str
        One line for the documentation.
    """

    name: ClassVar[str]
    media_type: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    kinds: ClassVar[frozenset[str]]
    accept: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[frozenset[str]] = frozenset()
    options: ClassVar[frozenset[str]] = frozenset()
    disposition: ClassVar[str | None] = None
    description: ClassVar[str] = ""

    @abstractmethod
    def render(self, output: Output) -> bytes:
        """Return ``output`` in this format (the HTTP body; the file's content)."""

    def write(self, output: Output, path: Path) -> list[Path]:
        """Write ``output`` to ``path`` (and any side files); return the files written.

        The default writes :meth:`render` atomically (a temporary file, then
        a rename), creating the parent directory.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, self.render(output))
        return [path]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.media_type}>"


_F = TypeVar("_F", bound=type[OutputFormat])


class _Registry:
    """The registered formats by name, in registration order (built-ins first)."""

    def __init__(self) -> None:
        self.formats: dict[str, OutputFormat] = {}
        self.lock = threading.RLock()
        self.loaded = False
        self.loading = False
        #: :func:`formats` answers by kind, until the next (un)registration (asked per request)
        self.by_kind: dict[str | None, tuple[OutputFormat, ...]] = {}

    def ensure_loaded(self) -> None:
        """Import :data:`BUILTIN_MODULES` once (their imports register the built-ins)."""
        if self.loaded:
            return
        with self.lock:
            if self.loaded or self.loading:  # loading: a built-in module registering
                return
            self.loading = True
            try:
                for module in BUILTIN_MODULES:
                    importlib.import_module(module)
            finally:
                self.loading = False
            self.loaded = True


_REGISTRY = _Registry()


def _check_format(cls: type[OutputFormat]) -> None:
    problems = []
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"name {name!r} is not a lower-case token")
    media = getattr(cls, "media_type", None)
    if not isinstance(media, str) or "/" not in media or ";" in media:
        problems.append(f"media_type {media!r} is not a type/subtype without parameters")
    sfx = getattr(cls, "suffixes", None)
    if not isinstance(sfx, tuple) or not sfx or not all(
            isinstance(s, str) and _SUFFIX.match(s) for s in sfx):
        problems.append(f"suffixes {sfx!r} are not lower-case '.ext' strings")
    kinds = getattr(cls, "kinds", None)
    if not isinstance(kinds, frozenset) or not kinds or not kinds <= set(KINDS):
        problems.append(f"kinds {kinds!r} are not a non-empty set of {', '.join(KINDS)}")
    if inspect.isabstract(cls):
        problems.append("render() is not implemented")
    if problems:
        msg = f"output format {cls.__name__}: {'; '.join(problems)}"
        raise ConfigError(msg)


def register_format(cls: _F) -> _F:
    """Register the output format class ``cls`` (usable as a class decorator).

    Raises
    ------
    ConfigError
        A malformed class, a name already registered, or a suffix another
        format already writes for one of the same kinds.
    """
    _check_format(cls)
    if cls.__module__ not in BUILTIN_MODULES:
        _REGISTRY.ensure_loaded()  # the built-ins first: a clash names the newcomer
    with _REGISTRY.lock:
        if cls.name in _REGISTRY.formats:
            msg = f"output format {cls.name!r} is already registered"
            raise ConfigError(msg)
        for other in _REGISTRY.formats.values():
            clash = set(cls.suffixes) & set(other.suffixes)
            if clash and cls.kinds & other.kinds:
                msg = (f"output format {cls.name!r}: suffix {sorted(clash)[0]} is already "
                       f"written by {other.name!r}")
                raise ConfigError(msg)
        _REGISTRY.formats[cls.name] = cls()
        _REGISTRY.by_kind.clear()
    return cls


def unregister_format(name: str) -> None:
    """Remove the format ``name`` (tests, plugins that replace a built-in)."""
    with _REGISTRY.lock:
        _REGISTRY.formats.pop(name, None)
        _REGISTRY.by_kind.clear()


def formats(kind: str | None = None) -> tuple[OutputFormat, ...]:
    """Return the registered formats (of ``kind``), in registration order.

    Examples
    --------
    >>> [f.name for f in formats(COVERAGE)][:4]
    ['json', 'geojson', 'csv', 'html']
    """
    _REGISTRY.ensure_loaded()
    found = _REGISTRY.by_kind.get(kind)
    if found is None:
        with _REGISTRY.lock:
            ordered = sorted(_REGISTRY.formats.values(), key=_builtin_rank)  # stable
            found = tuple(f for f in ordered if kind is None or kind in f.kinds)
            if _REGISTRY.loaded:  # not while the built-ins register
                _REGISTRY.by_kind[kind] = found
    return found


def _builtin_rank(fmt: OutputFormat) -> int:
    module = type(fmt).__module__
    return BUILTIN_MODULES.index(module) if module in BUILTIN_MODULES else len(BUILTIN_MODULES)


def names(kind: str) -> tuple[str, ...]:
    """Return the ``f`` values of the formats of ``kind``.

    Examples
    --------
    >>> names(PLAN)[:3]
    ('json', 'csv', 'html')
    """
    return tuple(f.name for f in formats(kind))


def suffixes(kind: str) -> tuple[str, ...]:
    """Return the file suffixes of the formats of ``kind``.

    Examples
    --------
    >>> suffixes(FEATURES)[:3]
    ('.json', '.geojson', '.csv')
    """
    return tuple(s for f in formats(kind) for s in f.suffixes)


def format_named(name: str, kind: str) -> OutputFormat:
    """Return the format called ``name`` (any case) that writes ``kind``.

    Raises
    ------
    InvalidParameter
        Named ``f``, listing the allowed values.

    Examples
    --------
    >>> format_named("CSV", COVERAGE).media_type
    'text/csv'
    >>> format_named("pdf", PLAN)
    Traceback (most recent call last):
    ...
    geosvc.errors.InvalidParameter: `f` must be one of json | csv | html...
    """
    wanted = name.strip().lower()
    offered = formats(kind)
    for fmt in offered:
        if fmt.name == wanted:
            return fmt
    msg = f"must be one of {' | '.join(f.name for f in offered)}"
    raise InvalidParameter("f", msg)


def format_for_path(path: str | os.PathLike[str], kind: str) -> OutputFormat:
    """Return the format whose suffix ends ``path`` (any case; the longest suffix wins).

    Raises
    ------
    InvalidParameter
        Named ``out``, listing the allowed suffixes.

    Examples
    --------
    >>> format_for_path("report.HTML", COVERAGE).name
    'html'
    >>> format_for_path("plan.txt", PLAN)
    Traceback (most recent call last):
    ...
    geosvc.errors.InvalidParameter: `out` must end in one of .json, .csv, .html...
    """
    file_name = Path(path).name
    lower = file_name.lower()
    best: tuple[int, OutputFormat] | None = None
    for fmt in formats(kind):
        for sfx in fmt.suffixes:
            if lower.endswith(sfx) and len(lower) > len(sfx) and (
                    best is None or len(sfx) > best[0]):
                best = (len(sfx), fmt)
    if best is None:
        msg = f"must end in one of {', '.join(suffixes(kind))}, not {file_name!r}"
        raise InvalidParameter("out", msg)
    return best[1]


def write_output(output: Output, path: str | os.PathLike[str]) -> list[Path]:
    """Write ``output`` in the format its ``path`` suffix names; return the files written.

    Raises
    ------
    InvalidParameter
        An unknown suffix (``out``).
    """
    return format_for_path(path, output.kind).write(output, Path(path))


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (no torn files)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
