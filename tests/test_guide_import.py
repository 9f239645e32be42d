"""Service guide columns of items and the 一件事 bundle layer: imports and rejections."""

from __future__ import annotations

from pathlib import Path

import pytest

from geosvc.errors import ImportRejected
from geosvc.importer import import_file, import_manifest
from geosvc.model import Bundle
from geosvc.store import open_store

DATA = Path(__file__).parent / "data" / "import"


@pytest.fixture
def store(tmp_path):
    with open_store(str(tmp_path / "db.sqlite")) as s:
        import_file(s, "items", DATA / "items.csv")
        yield s


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(store, what: str, path: Path) -> list[tuple[int, str, str]]:
    before = (store.counts(), store.revision(), store.items(), store.bundles())
    with pytest.raises(ImportRejected) as err:
        import_file(store, what, path)
    assert (store.counts(), store.revision(), store.items(), store.bundles()) == before
    return [(p.row, p.field, p.reason) for p in err.value.problems]


def test_guide_columns_under_chinese_headers(store, tmp_path):
    """Simplified and traditional headers both map; lists split at ; and new lines."""
    path = write(tmp_path, "guide.csv",
                 "编码,名称,申请材料,办理条件,收费标准,法定时限,承諾時限,网上办理地址,可网办,"
                 "可郵寄,可自助\n"
                 'SB-01,社保卡补领,"身份证（原件，复印件）；一寸照片\n户口簿",本市参保人员,免费,'
                 "20,1,https://zwfw.example.cn/sb01,是,否,yes\n")
    report = import_file(store, "items", path)
    assert (report.created, report.updated) == (0, 1)
    item = next(i for i in store.items() if i.code == "SB-01")
    assert item.materials == ("身份证（原件，复印件）", "一寸照片", "户口簿")
    assert (item.conditions, item.fee, item.legal_days, item.promised_days) == (
        "本市参保人员", "免费", 20, 1)
    assert item.apply_url == "https://zwfw.example.cn/sb01"
    assert (item.can_do_online, item.by_post, item.at_kiosk) == (True, False, True)
    assert item.has_guide and item.name == "社保卡补领"


@pytest.mark.parametrize(("url", "ok"), [
    ("http://a.example/x?y=1", True), ("HTTPS://a.example", True),
    ("javascript:alert(1)", False), ("ftp://a.example/f", False), ("//a.example", False),
    ("https://", False), ("www.example.cn", False), ("https://a.example/a b", False),
])
def test_apply_url_must_be_http_or_https(store, tmp_path, url, ok):
    path = write(tmp_path, "u.csv", f'code,name,apply_url\nX1,x,"{url}"\n')
    if ok:
        import_file(store, "items", path)
        assert store.items()[-1].apply_url == url
    else:
        assert problems(store, "items", path) == [
            (1, "apply_url", f"must be an http:// or https:// address (got {url!r})")]


def test_bad_time_limits_and_flags_are_row_problems(store, tmp_path):
    path = write(tmp_path, "d.csv", "code,name,legal_days,promised_days,by_post\n"
                                    "X1,x,-1,2.5,maybe\n")
    found = {(row, field) for row, field, _ in problems(store, "items", path)}
    assert found == {(1, "legal_days"), (1, "promised_days"), (1, "by_post")}


def test_bundles_layer_imports_all_or_nothing(store, tmp_path):
    good = write(tmp_path, "b.csv", "code,name,name_en,items,description\n"
                                    'B1,社保一件事,Social security,"SB-01, SB-02",两项\n'
                                    "B2,开办企业一件事,,GS-01、SB-01,\n")
    report = import_file(store, "bundles", good)
    assert (report.what, report.rows, report.created) == ("bundles", 2, 2)
    assert store.bundles() == [Bundle("B1", "社保一件事", ("SB-01", "SB-02"), "Social security",
                                      "两项"),
                               Bundle("B2", "开办企业一件事", ("GS-01", "SB-01"))]
    assert import_file(store, "bundles", good).unchanged == 2
    bad = write(tmp_path, "bad.csv", "编码,名称,包含事项\nB3,x,SB-01;NOPE\nB4,y,\n")
    assert problems(store, "bundles", bad) == [
        (1, "items", "unknown item 'NOPE' (import items first)"),
        (2, "items", "is required (item codes separated by commas)"),
    ]
    rows = problems(store, "bundles", write(tmp_path, "dup.csv",
                                            'code,name,items\nB5,z,"SB-01,SB-01"\n'))
    assert rows == [(1, "items", "names 'SB-01' twice")]


def test_bundles_in_a_manifest_see_the_items_of_the_same_manifest(tmp_path):
    for name in ("items.csv",):
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    write(tmp_path, "bundles.csv", "code,name,items\nB1,社保一件事,SB-01;SB-02\n")
    manifest = write(tmp_path, "m.yaml", "layers:\n"
                     "  - {name: bundles, what: bundles, path: bundles.csv}\n"
                     "  - {name: items, what: items, path: items.csv}\n")
    with open_store(str(tmp_path / "db.sqlite")) as s:
        report = import_manifest(s, manifest)
        assert [r.what for r in report.reports] == ["items", "bundles"]
        assert [b.items for b in s.bundles()] == [("SB-01", "SB-02")]
