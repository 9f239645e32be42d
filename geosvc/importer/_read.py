"""Read a table of records from CSV, GeoJSON or Excel (.xlsx) into dicts.

No validation of values happens here, only of the file's shape; the values
keep their native types (strings from CSV, numbers/booleans from JSON and
Excel) and are checked by the row validators.  :func:`iter_csv` yields a CSV
file's rows one by one, reading it block by block (the importer validates a
big CSV file in chunks of them); :func:`read_table` returns the same rows.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from geosvc.errors import InvalidParameter

#: File suffix -> format name.
FORMATS = {".csv": "csv", ".geojson": "geojson", ".json": "geojson", ".xlsx": "xlsx"}


def _bad_file(path: Path, reason: str) -> InvalidParameter:
    return InvalidParameter("path", f"file {str(path)!r} {reason}")


def read_table(
    path: str | os.PathLike[str], *, encoding: str | None = None
) -> list[dict[str, Any]]:
    """Read the records of a CSV, GeoJSON or ``.xlsx`` file.

    Parameters
    ----------
    path : path
        ``.csv`` (comma-separated, header row; UTF-8 with or without BOM unless
        ``encoding`` says otherwise), ``.geojson``/``.json`` (a
        FeatureCollection) or ``.xlsx`` (first sheet, header row).
    encoding : str, optional
        Text encoding of a CSV file (e.g. ``"gb18030"`` for files saved by a
        Chinese Excel); default UTF-8 (a BOM is skipped).

    Returns
    -------
    list of dict
        One dict per data row, in file order: row ``i`` of the result is data
        row ``i + 1`` (for CSV/XLSX, line ``i + 2`` of the file, the header being
        line 1; for GeoJSON, feature ``i + 1``).  Blank rows are kept as dicts
        of empty values so that numbering holds.  Header names are stripped.
        A GeoJSON Point becomes ``lon``/``lat``; any other geometry becomes
        ``geometry`` (WKT when it can be built, else the raw GeoJSON object).

    Raises
    ------
    InvalidParameter
        Named ``path``: missing or unreadable file, unknown extension, bad
        encoding or malformed content.
    """
    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        hint = " (save it as .xlsx)" if p.suffix.lower() in (".xls", ".ods") else ""
        if p.suffix.lower() in (".tif", ".tiff"):
            hint = " (a GeoTIFF can only be imported as population)"
        raise _bad_file(p, f"has an unknown extension {p.suffix or '(none)'!r}{hint}; "
                           "use .csv, .geojson, .json or .xlsx")
    _check_path(p)
    try:
        if fmt == "csv":
            return _read_csv(p, encoding)
        if fmt == "geojson":
            return _read_geojson(p)
        return _read_xlsx(p)
    except PermissionError as exc:
        raise _bad_file(p, f"cannot be read ({exc.strerror})") from exc


def _check_path(p: Path) -> None:
    if not p.exists():
        raise _bad_file(p, "does not exist")
    if not p.is_file():
        raise _bad_file(p, "is not a file")


def _header(p: Path, names: list[Any]) -> list[str]:
    header = ["" if n is None else str(n).strip() for n in names]
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise _bad_file(p, f"has the column {name!r} twice in its header")
        seen.add(name)
    return header


#: Bytes read from a CSV file at a time when it is streamed.
BLOCK_BYTES = 1 << 20


def _text_lines(p: Path, enc: str, encoding: str | None) -> Iterator[str]:
    """Yield the lines of a text file as ``text.splitlines(keepends=True)`` would.

    The file is decoded block by block (never held whole); a decoding error
    names its byte offset in the file.
    """
    try:
        info = codecs.lookup(enc)
        if not getattr(info, "_is_text_encoding", True):
            raise LookupError(enc)
    except LookupError as exc:
        msg = f"is not a known text encoding (got {encoding!r})"
        raise InvalidParameter("encoding", msg) from exc
    decoder = info.incrementaldecoder("strict")
    consumed = 0
    carry = ""
    with p.open("rb") as fh:
        while True:
            block = fh.read(BLOCK_BYTES)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                hint = (" (a file saved by a Chinese Excel is often gb18030: pass that "
                        "encoding, or save as UTF-8)")
                at = consumed - pending + exc.start
                raise _bad_file(p, f"is not valid {enc} text at byte {at}{hint}") from exc
            consumed += len(block)
            if not block:
                if carry + text:
                    yield from (carry + text).splitlines(keepends=True)
                return
            # the last piece may continue (or its "\r" be followed by "\n") in the next block
            lines = (carry + text).splitlines(keepends=True)
            carry = lines.pop() if lines else ""
            yield from lines


def iter_csv(path: str | os.PathLike[str], *, encoding: str | None = None
             ) -> Iterator[dict[str, Any]]:
    """Yield the rows of a CSV file one by one, as :func:`read_table` returns them.

    The file is read block by block: memory holds one block and one row, not
    the file.  The header is checked before the first row is yielded; a
    malformed line or an encoding error further on raises when it is reached.

    Raises
    ------
    InvalidParameter
        As :func:`read_table` (named ``path``, or ``encoding``).
    """
    p = Path(path)
    _check_path(p)
    if FORMATS.get(p.suffix.lower()) != "csv":
        raise _bad_file(p, "is not a .csv file")
    try:
        yield from _csv_rows(p, encoding)
    except PermissionError as exc:
        raise _bad_file(p, f"cannot be read ({exc.strerror})") from exc


def _read_csv(p: Path, encoding: str | None) -> list[dict[str, Any]]:
    return list(_csv_rows(p, encoding))


def _csv_rows(p: Path, encoding: str | None) -> Iterator[dict[str, Any]]:
    enc = encoding or "utf-8-sig"
    records = csv.reader(_text_lines(p, enc, encoding), strict=True)
    try:
        first = next(records, None)
        if first is None:
            raise _bad_file(p, "is empty (a header row is needed)")
        header = _header(p, first)
        if len(header) == 1 and any(sep in header[0] for sep in ";\t"):
            raise _bad_file(p, "is not comma-separated (the header holds one column "
                               f"{header[0]!r}); save it with commas")
        for values in records:
            row = {name: "" for name in header if name}
            extra = []
            for i, value in enumerate(values):
                if i < len(header):
                    if header[i]:
                        row[header[i]] = value
                elif value.strip():
                    extra.append(value)
            if extra:
                row["(extra columns)"] = ",".join(extra)
            yield row
    except csv.Error as exc:
        raise _bad_file(p, f"is not valid CSV ({exc})") from exc


def _read_geojson(p: Path) -> list[dict[str, Any]]:
    from shapely.errors import (
        ShapelyError,  # lazy: shapely takes ~0.12 s to import; only this path needs it
    )
    from shapely.geometry import (
        shape,  # lazy: shapely takes ~0.12 s to import; only this path needs it
    )

    try:
        doc = json.loads(p.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise _bad_file(p, f"is not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise _bad_file(p, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg})") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" \
            or not isinstance(doc.get("features"), list):
        raise _bad_file(p, "is not a GeoJSON FeatureCollection")
    rows = []
    for feature in doc["features"]:
        if not isinstance(feature, dict):
            rows.append({"(feature)": feature})
            continue
        props = feature.get("properties") or {}
        row = dict(props) if isinstance(props, dict) else {"(properties)": props}
        geom = feature.get("geometry")
        if (isinstance(geom, dict) and geom.get("type") == "Point"
                and _is_pair(geom.get("coordinates"))):
            row["lon"], row["lat"] = geom["coordinates"][:2]
        elif geom is not None:
            try:
                row["geometry"] = shape(geom).wkt
            except (ShapelyError, AttributeError, KeyError, TypeError, ValueError, IndexError):
                row["geometry"] = geom
        rows.append(row)
    return rows


def _is_pair(value: Any) -> bool:
    return (isinstance(value, list) and len(value) >= 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value[:2]))


def _read_xlsx(p: Path) -> list[dict[str, Any]]:
    import openpyxl  # lazy: openpyxl takes ~0.15 s to import; only this path needs it

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles / data validation it cannot keep; irrelevant here.
            warnings.simplefilter("ignore", UserWarning)
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
            try:
                sheet = wb.worksheets[0]
                records = [list(r) for r in sheet.iter_rows(values_only=True)]
            finally:
                wb.close()
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _bad_file(p, f"is not a readable .xlsx workbook ({exc})") from exc
    if not records:
        raise _bad_file(p, "has an empty first sheet (a header row is needed)")
    header = _header(p, records[0])
    while header and not header[-1]:
        header.pop()
    rows = []
    for values in records[1:]:
        row = {name: None for name in header if name}
        for name, value in zip(header, values, strict=False):
            if name:
                row[name] = value
        rows.append(row)
    while rows and all(v is None or v == "" for v in rows[-1].values()):
        rows.pop()  # trailing rows Excel reports as used but which hold nothing
    return rows
