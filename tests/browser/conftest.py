"""Browser-test fixtures: a small real dataset in China, live servers, headless Chromium.

The dataset is written through the real SQLite store (the same path the
importer takes); the app is the real ``create_app`` served by werkzeug on a
free local port.  A second server on another port plays a foreign web site
(another origin) that embeds the map and the widget.  Chromium is Debian's
``/usr/bin/chromium``; every request that leaves 127.0.0.1 (tile servers,
CDNs) is aborted, so pages must work offline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

from geosvc.model import (
    Channel,
    DatasetInfo,
    Level,
    Link,
    PopulationCell,
    ServiceItem,
    Venue,
    VenueKind,
)
from tests.web._demo_app import build_demo_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
#: The hostile venue name of the script-injection test.
XSS_NAME = "<img src=x onerror=alert(1)>"
#: A point in Xuancheng (宣城), WGS-84, where the GCJ-02 shift is some 500 m.
CENTRE = (118.7580, 30.9400)

W, S, T = Channel.WINDOW, Channel.SELF_SERVICE, Channel.SMART_TELLER


def _venues() -> list[Venue]:
    x, y = CENTRE
    return [
        Venue("XC-H-0001", "宣城市政务服务中心", VenueKind.HALL, x, y, Level.CITY,
              frozenset({W, S}), address="宣城市宣州区鳌峰中路 1 号", phone="0563-1234567",
              opening_hours="Mo-Fr 09:00-12:00,13:30-17:00; Sa 09:00-12:00",
              accessible=True, name_en="Xuancheng Government Service Centre"),
        Venue("XC-H-0002", "宣州区政务服务中心", VenueKind.HALL, x + 0.012, y + 0.004,
              Level.COUNTY, frozenset({W}), opening_hours="Mo-Fr 09:00-17:00"),
        Venue("XC-H-0003", "鳌峰街道便民服务中心", VenueKind.HALL, x - 0.010, y + 0.006,
              Level.TOWNSHIP, frozenset({W}), opening_hours="Mo-Fr 08:30-17:30"),
        Venue("XC-H-0004", "敬亭社区为民服务站", VenueKind.HALL, x + 0.004, y - 0.011,
              Level.VILLAGE, frozenset({W}), opening_hours="Mo-Sa 08:30-11:30"),
        Venue("XC-B-0001", "工商银行宣城分行", VenueKind.BANK_OUTLET, x + 0.006, y + 0.002,
              channels=frozenset({W, T}), bank="ICBC", opening_hours="Mo-Su 09:00-17:00"),
        Venue("XC-B-0002", "建设银行鳌峰支行", VenueKind.BANK_OUTLET, x - 0.005, y - 0.004,
              channels=frozenset({T}), bank="CCB", opening_hours="Mo-Fr 09:00-17:00"),
        Venue("XC-K-0001", "7×24小时自助服务站（市民广场）", VenueKind.KIOSK,
              x + 0.001, y + 0.001,
              channels=frozenset({S}), opening_hours="24/7", machines=5),
        Venue("XC-K-0002", XSS_NAME, VenueKind.KIOSK, x - 0.002, y + 0.009,
              channels=frozenset({S}), opening_hours="24/7",
              address='"><script>alert(2)</script>'),
    ]


def _items() -> list[ServiceItem]:
    return [
        ServiceItem("SB-001", "社会保障卡申领", "Apply for a social-security card", "人社局",
                    high_frequency=True,
                    materials=("居民身份证原件", "近期一寸免冠照片<b>1</b>张"),
                    conditions="本市参保人员", fee="免费", legal_days=20, promised_days=5,
                    apply_url="https://zwfw.example.gov.cn/sb?item=SB-001&x=<i>",
                    can_do_online=True, at_kiosk=True),
        ServiceItem("YB-002", "医保参保信息查询", "Medical-insurance record", "医保局"),
        ServiceItem("GJJ-003", "住房公积金提取${alert(3)}", "Housing-fund withdrawal",
                    "公积金中心"),
    ]


def _links() -> list[Link]:
    out = []
    for v in _venues():
        chans = frozenset(v.channels) or frozenset({S})
        out.append(Link(v.code, "SB-001", chans))
        if v.kind is not VenueKind.BANK_OUTLET:
            out.append(Link(v.code, "GJJ-003", chans))
        if v.kind is VenueKind.HALL:
            out.append(Link(v.code, "YB-002", frozenset({W})))
    return out


def _population() -> list[PopulationCell]:
    x, y = CENTRE
    return [PopulationCell(x + dx * 0.004, y + dy * 0.004, 60.0 + 8 * (dx + dy))
            for dx in range(-3, 4) for dy in range(-3, 4)]


@pytest.fixture(scope="session")
def china_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite dataset of 8 venues in Xuancheng (one named like a script injection)."""
    from geosvc.store import open_store
    from geosvc.store.base import Batch

    path = tmp_path_factory.mktemp("browser-data") / "xuancheng.sqlite"
    store = open_store(str(path))
    try:
        store.write(Batch(
            info=DatasetInfo(name="宣城测试 Xuancheng test", timezone="Asia/Shanghai",
                             calendar="cn", country="CN"),
            venues=_venues(), items=_items(), links=_links(), population=_population(),
        ))
    finally:
        store.close()
    return path


class _Server:
    def __init__(self, app: Any) -> None:
        self.httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="session")
def app_url(china_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real geosvc app serving ``china_db`` (straight-line mode)."""
    from geosvc.web import create_app

    cache = tmp_path_factory.mktemp("browser-cache")
    app = create_app({"db": str(china_db), "osm": None, "cache_dir": str(cache),
                      "TESTING": True})
    server = _Server(app)
    yield server.url
    server.close()


@pytest.fixture(scope="session")
def demo_url(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real app over the demo city with its walking network (issue 10).

    Built by :func:`tests.web._demo_app.build_demo_app`, which shares the
    session's network cache with the web tests.
    """
    server = _Server(build_demo_app(demo_db, tmp_path_factory))
    yield server.url
    server.close()


class HostSite:
    """A foreign web site (another origin): serves the pages tests put into it."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = self.pages.get(environ.get("PATH_INFO", ""))
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode("utf-8")]


@pytest.fixture(scope="session")
def host_site() -> Iterator[tuple[HostSite, str]]:
    """A second local server (another port, so another origin) and its base URL."""
    site = HostSite()
    server = _Server(site)
    yield site, server.url
    server.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class PageLog:
    """Page errors, console errors, dialogs and blocked requests of one page."""

    def __init__(self) -> None:
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []

    def problems(self) -> list[str]:
        return self.page_errors + self.console_errors


def _local(url: str) -> bool:
    host = urlparse(url).hostname
    local = host in {"127.0.0.1", "localhost"}
    return url.startswith(("data:", "about:", "blob:", "file:")) or local


def offline_context(browser: Any, **options: Any) -> tuple[Any, PageLog]:
    """Open a browser context whose requests off 127.0.0.1 abort (listed in the log)."""
    context = browser.new_context(**options)
    log = PageLog()

    def route(r: Any) -> None:
        if _local(r.request.url):
            r.continue_()
        else:
            log.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context, log


def watch_page(pg: Any, log: PageLog, *, timeout_ms: int = 10_000) -> Any:
    """Record ``pg``'s uncaught errors and dialogs (dismissed) in ``log``; return ``pg``."""
    pg.set_default_timeout(timeout_ms)
    pg.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    pg.on("dialog", lambda d: (log.dialogs.append(d.message), d.dismiss()))
    return pg


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[tuple[Any, PageLog]]:
    """A fresh page; requests off 127.0.0.1 are aborted; errors and dialogs recorded."""
    context, log = offline_context(browser, viewport={"width": 1100, "height": 800},
                                   locale="zh-CN")
    pg = watch_page(context.new_page(), log)

    def console(msg: Any) -> None:
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        # Aborted tile requests log "Failed to load resource"; those are expected.
        if "Failed to load resource" in msg.text and not _local(where):
            return
        log.console_errors.append(f"{msg.text} @ {where}")

    pg.on("console", console)
    yield pg, log
    context.close()


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of the screenshots of this session."""
    return tmp_path_factory.getbasetemp() / "screenshots"


@pytest.fixture
def phone(browser: Any) -> Iterator[tuple[Any, PageLog]]:
    """Open a fresh phone page (390 x 844 CSS px, scale 2, touch); off-host requests abort."""
    context, log = offline_context(browser, viewport={"width": 390, "height": 844},
                                   device_scale_factor=2, is_mobile=True, has_touch=True,
                                   locale="zh-CN")
    pg = watch_page(context.new_page(), log)
    yield pg, log
    context.close()


#: Page sizes of the pin and layering tests: a desktop, and a phone (scale 2, touch).
SIZES = {"desk": {"viewport": {"width": 1280, "height": 800}},
         "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                   "is_mobile": True, "has_touch": True}}

SizedOpener = Callable[..., tuple[Any, PageLog]]


@pytest.fixture
def sized_page(browser: Any) -> Iterator[SizedOpener]:
    """Open pages of a size (a key of :data:`SIZES`) and locale; off-host requests abort."""
    contexts: list[Any] = []

    def opener(size: str, locale: str = "en-GB") -> tuple[Any, PageLog]:
        context, log = offline_context(browser, locale=locale, **SIZES[size])
        contexts.append(context)
        pg = watch_page(context.new_page(), log, timeout_ms=15_000)
        pg.on("console", lambda m: log.console_errors.append(m.text)
              if m.type == "error" and "Failed to load resource" not in m.text else None)
        return pg, log

    yield opener
    for context in contexts:
        context.close()
