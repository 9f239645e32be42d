"""A CSV import is read and validated in chunks: same outcome as one pass, less memory.

Chunks are made tiny here (a few rows, a few bytes a block) so that every
boundary case falls across a chunk or a block.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from geosvc.errors import ImportRejected, InvalidParameter
from geosvc.importer import _file, _read, import_file, mapping_of, read_table
from geosvc.importer._file import parse_csv_streamed, parse_rows
from geosvc.importer._read import iter_csv
from geosvc.store import open_store

HEADER = "code,name,kind,level,lon,lat,status,opening_hours\n"


def venue_lines(n: int, start: int = 0) -> list[str]:
    """``n`` good venue rows: halls, kiosks, some planned, one with a quoted comma."""
    out = []
    for i in range(start, start + n):
        kind, level = ("hall", "township") if i % 3 else ("kiosk", "")
        status = "planned" if i % 7 == 0 else ""
        name = f'"服务点, {i}"' if i % 5 == 0 else f"服务点{i}"
        out.append(f"V{i:05d},{name},{kind},{level},{117 + i / 1e4:.6f},{31 + i / 1e4:.6f},"
                   f"{status},Mo-Fr 09:00-17:00\n")
    return out


def write(path, lines: list[str], header: str = HEADER, bom: bool = True) -> None:
    """Write a CSV file (CRLF line ends, a BOM: as Excel saves it)."""
    text = header + "".join(lines)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"")
                     + text.replace("\n", "\r\n").encode("utf-8"))


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Read 7 bytes at a time: CRLF, UTF-8 sequences and quoted fields span blocks."""
    monkeypatch.setattr(_read, "BLOCK_BYTES", 7)


def test_lines_match_one_read_across_block_boundaries(tmp_path, monkeypatch, tiny_blocks):
    # lines are split as str.splitlines splits them (also at U+2028), as one read did
    text = ('\ufeffcode,name,note\r\nA,"甲\r\n乙",x\u2028y\r\nB,丙,"a,b"\rC,丁,\n\n'
            'D,戊,extra,"more"\r\n')
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8", newline="")
    expect = [
        {"code": "A", "name": "甲\r\n乙", "note": "x\u2028"},
        {"code": "y", "name": "", "note": ""},
        {"code": "B", "name": "丙", "note": "a,b"},
        {"code": "C", "name": "丁", "note": ""},
        {"code": "", "name": "", "note": ""},
        {"code": "D", "name": "戊", "note": "extra", "(extra columns)": "more"},
    ]
    assert list(iter_csv(path)) == expect
    assert read_table(path) == expect
    monkeypatch.setattr(_read, "BLOCK_BYTES", 1 << 20)
    assert read_table(path) == expect


def test_decoding_error_names_the_byte_of_the_file(tmp_path, tiny_blocks):
    path = tmp_path / "bad.csv"
    body = "code,name\n" + "".join(f"A{i},甲乙\n" for i in range(20))
    path.write_bytes(body.encode() + b"B,\xff\n")
    with pytest.raises(InvalidParameter, match=rf"at byte {len(body.encode()) + 2}\b"):
        read_table(path)
    with pytest.raises(InvalidParameter, match="not a known text encoding"):
        read_table(path, encoding="no-such-codec")
    with pytest.raises(InvalidParameter, match="not a known text encoding"):
        read_table(path, encoding="base64")  # a codec, not a text encoding


def test_streamed_equals_one_pass(tmp_path, tiny_blocks):
    path = tmp_path / "venues.csv"
    lines = venue_lines(23)
    lines[4:4] = [",,,,,,,\n"]  # a blank row: numbering holds across chunks
    lines[9] = lines[9].rstrip("\r\n") + ",surplus\n"  # an extra column, in chunk 2 only
    write(path, lines)
    whole = parse_rows("venues", read_table(path), crs="wgs84")
    for size in (1, 4, 5, 100):
        part = parse_csv_streamed("venues", path, crs="wgs84", chunk_rows=size)
        assert part is not None
        assert part.records == whole.records
        assert part.keys == whole.keys
        assert part.rows == whole.rows == 23
        assert part.statuses == whole.statuses == {"in_service": 19, "planned": 4}
        assert part.ignored_columns == whole.ignored_columns == ("(extra columns)",)
        assert part.mappings == whole.mappings
        assert part.venue_channels == whole.venue_channels
    # a mapping and another id column, and a layer checked against the store (links)
    mapped = tmp_path / "mapped.csv"
    write(mapped, [ln.replace("服务点", "点") for ln in venue_lines(9)],
          header="ID,名称,kind,level,经度,纬度,status,opening_hours\n")
    rule = mapping_of("venues", fields={"name": "{名称}!"})
    whole = parse_rows("venues", read_table(mapped), crs="gcj02", id_field="ID", mapping=rule)
    part = parse_csv_streamed("venues", mapped, crs="gcj02", id_field="ID", mapping=rule,
                              chunk_rows=2)
    assert part is not None and not whole.problems
    assert (part.records, part.mappings, part.keys) == (whole.records, whole.mappings,
                                                        whole.keys)


def test_bad_rows_reported_as_in_one_pass_nothing_written(tmp_path, monkeypatch, tiny_blocks):
    db = tmp_path / "s.sqlite"
    path = tmp_path / "venues.csv"
    write(path, venue_lines(30))
    with open_store(str(db)) as store:
        assert import_file(store, "venues", path).created == 30
    monkeypatch.setattr(_file, "CHUNK_ROWS", 4)
    lines = venue_lines(30, start=100)
    lines[13] = lines[13].replace(",hall,", ",palace,")  # row 14, chunk 4
    lines[25] = lines[2]  # row 26 repeats row 3's code: a duplicate across chunks
    lines[28] = lines[28].replace("Mo-Fr", "Mo-Xx")  # row 29, last chunk
    write(path, lines)
    whole = parse_rows("venues", read_table(path), crs="wgs84")
    assert parse_csv_streamed("venues", path, crs="wgs84", chunk_rows=4) is None
    with open_store(str(db)) as store:
        with pytest.raises(ImportRejected) as err:
            import_file(store, "venues", path)
        assert err.value.problems == whole.problems
        assert [p.row for p in err.value.problems] == [14, 26, 29]
        assert "also on row 3" in err.value.problems[1].reason
        assert store.counts()["venues"] == 30  # nothing of the bad file written
    # only a duplicate across chunks (every chunk good on its own): still refused
    lines = venue_lines(12, start=200)
    lines[10] = lines[1]
    write(path, lines)
    with open_store(str(db)) as store:
        with pytest.raises(ImportRejected) as err:
            import_file(store, "venues", path)
        assert [(p.row, p.field) for p in err.value.problems] == [(11, "code")]
        assert store.counts()["venues"] == 30
    # a malformed line after good chunks: the file is refused, nothing written
    write(path, [*venue_lines(9, start=300), 'V9,"unclosed\n'])
    with open_store(str(db)) as store:
        with pytest.raises(InvalidParameter, match="not valid CSV"):
            import_file(store, "venues", path)
        assert store.counts()["venues"] == 30


def test_links_streamed_against_the_store(tmp_path, monkeypatch):
    db = tmp_path / "s.sqlite"
    write(tmp_path / "venues.csv", venue_lines(6))
    (tmp_path / "items.csv").write_text("code,name\nI1,甲\nI2,乙\n", encoding="utf-8")
    links = "venue_code,item_code\n" + "".join(
        f"V{v:05d},I{i}\n" for v in range(6) for i in (1, 2))
    (tmp_path / "links.csv").write_text(links, encoding="utf-8")
    monkeypatch.setattr(_file, "CHUNK_ROWS", 5)
    with open_store(str(db)) as store:
        import_file(store, "venues", tmp_path / "venues.csv")
        import_file(store, "items", tmp_path / "items.csv")
        assert import_file(store, "links", tmp_path / "links.csv").created == 12
        (tmp_path / "links.csv").write_text(links + "V00009,I1\nV00001,I1\n", encoding="utf-8")
        with pytest.raises(ImportRejected) as err:
            import_file(store, "links", tmp_path / "links.csv")
        assert [(p.row, p.field) for p in err.value.problems] == [(13, "venue_code"),
                                                                   (14, "item_code")]


def test_streamed_read_holds_less_memory(tmp_path):
    path = tmp_path / "venues.csv"
    write(path, venue_lines(6_000))

    def peak(fn):
        gc.collect()
        tracemalloc.start()
        try:
            out = fn()
            return tracemalloc.get_traced_memory()[1], out
        finally:
            tracemalloc.stop()

    whole_peak, whole = peak(lambda: parse_rows("venues", read_table(path), crs="wgs84"))
    part_peak, part = peak(lambda: parse_csv_streamed("venues", path, crs="wgs84",
                                                      chunk_rows=600))
    assert part is not None and part.records == whole.records
    assert part_peak < 0.7 * whole_peak, (part_peak, whole_peak)


def test_iter_csv_refuses_what_read_table_refuses(tmp_path):
    with pytest.raises(InvalidParameter, match="does not exist"):
        list(iter_csv(tmp_path / "missing.csv"))
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(InvalidParameter, match="is empty"):
        list(iter_csv(tmp_path / "e.csv"))
    (tmp_path / "semi.csv").write_text("code;name\nA;b\n")
    with pytest.raises(InvalidParameter, match="comma-separated"):
        next(iter_csv(tmp_path / "semi.csv"))
    (tmp_path / "x.geojson").write_text("{}")
    with pytest.raises(InvalidParameter, match="not a .csv"):
        next(iter_csv(tmp_path / "x.geojson"))
