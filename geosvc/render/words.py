"""Opening hours and times said in words, in Chinese and English.

``Mo-Fr 09:00-12:00,13:00-17:00; PH off`` becomes "周一至周五
09:00–12:00, 13:00–17:00（午休 12:00–13:00）; 法定节假日休息" or the English
line; the venue page, the map's popups and its results list say hours this
way (never in raw OSM syntax when the form is a common one).  Pure text: the
callers escape.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from geosvc.render.i18n import Prefs

__all__ = ["WEEKDAYS", "hours_in_words", "hours_text", "weekday", "when_text"]

#: (Chinese, English) short name of each weekday, Monday first.
WEEKDAYS: Final = {"Mo": ("周一", "Mon"), "Tu": ("周二", "Tue"), "We": ("周三", "Wed"),
                   "Th": ("周四", "Thu"), "Fr": ("周五", "Fri"), "Sa": ("周六", "Sat"),
                   "Su": ("周日", "Sun")}
_DAYS_RE = re.compile(r"^(?:(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?,?)+$")
_TIME = r"(?:[01]\d|2[0-4]):[0-5]\d"
_TIMES_RE = re.compile(rf"^{_TIME}-{_TIME}(?:,{_TIME}-{_TIME})*$")


def weekday(index: int, prefs: Prefs) -> str:
    """Return the short weekday name of ``index`` (0 = Monday) in the page's language.

    Examples
    --------
    >>> from geosvc.render.i18n import Prefs
    >>> weekday(0, Prefs()), weekday(6, Prefs("en"))
    ('周一', 'Sun')
    """
    return prefs.t(*tuple(WEEKDAYS.values())[index])


def _day_spec(spec: str) -> tuple[str, str] | None:
    """``Mo-Fr,Sa`` -> ``("周一至周五、周六", "Mon–Fri, Sat")``; ``PH`` -> holidays."""
    if not _DAYS_RE.match(spec):
        return None
    zh, en = [], []
    for part in spec.strip(",").split(","):
        if part == "PH":
            zh.append("法定节假日")
            en.append("public holidays")
        elif "-" in part:
            a, b = part.split("-")
            zh.append(f"{WEEKDAYS[a][0]}至{WEEKDAYS[b][0]}")
            en.append(f"{WEEKDAYS[a][1]}–{WEEKDAYS[b][1]}")
        else:
            zh.append(WEEKDAYS[part][0])
            en.append(WEEKDAYS[part][1])
    return "、".join(zh), ", ".join(en)


def _times(spec: str) -> tuple[str, str]:
    """``09:00-12:00,13:00-17:00`` -> the intervals and, between them, the lunch break."""
    spans = [s.split("-") for s in spec.split(",")]
    text = ", ".join(f"{a}–{b}" for a, b in spans)
    breaks = [f"{spans[i][1]}–{spans[i + 1][0]}" for i in range(len(spans) - 1)]
    if not breaks:
        return text, text
    gaps = ", ".join(breaks)
    return f"{text}（午休 {gaps}）", f"{text} (lunch break {gaps})"


def _rule_in_words(rule: str) -> tuple[str, str] | None:
    parts = rule.split()
    if len(parts) == 1 and _TIMES_RE.match(parts[0]):
        zh, en = _times(parts[0])
        return f"每天 {zh}", f"daily {en}"
    if len(parts) != 2:  # noqa: PLR2004 - days and times
        return None
    days = _day_spec(parts[0])
    if days is None:
        return None
    if parts[1] in ("off", "closed"):
        return f"{days[0]}休息", f"closed on {days[1]}"
    if not _TIMES_RE.match(parts[1]):
        return None
    zh, en = _times(parts[1])
    return f"{days[0]} {zh}", f"{days[1]} {en}"


def hours_in_words(expr: str | None) -> list[tuple[str, str]] | None:
    """Say an ``opening_hours`` expression in Chinese and English, one line per rule.

    None when the expression is beyond the common forms (the page then shows
    it as it is).

    Examples
    --------
    >>> hours_in_words("Mo-Fr 09:00-12:00,13:00-17:00; PH off")
    [('周一至周五 09:00–12:00, 13:00–17:00（午休 12:00–13:00）', \
'Mon–Fri 09:00–12:00, 13:00–17:00 (lunch break 12:00–13:00)'), \
('法定节假日休息', 'closed on public holidays')]
    >>> hours_in_words("24/7")
    [('全天 24 小时开放', 'open 24 hours, every day')]
    >>> hours_in_words("Mo-Fr 09:00-17:00 || 'by appointment'") is None
    True
    """
    if expr is None or not expr.strip():
        return None
    if expr.strip() == "24/7":
        return [("全天 24 小时开放", "open 24 hours, every day")]
    lines = []
    for rule in expr.split(";"):
        if not rule.strip():
            continue
        said = _rule_in_words(rule.strip())
        if said is None:
            return None
        lines.append(said)
    return lines or None


def hours_text(expr: str | None, prefs: Prefs) -> str | None:
    """Return the hours in words in the page's language, rules joined by "；" / "; ".

    The expression as it is when it is beyond the common forms; None when empty.

    Examples
    --------
    >>> from geosvc.render.i18n import Prefs
    >>> hours_text("Mo-Fr 08:30-16:00; Sa 09:00-12:00", Prefs("en"))
    'Mon–Fri 08:30–16:00; Sat 09:00–12:00'
    >>> hours_text("Mo-Fr 08:30-16:00", Prefs())
    '周一至周五 08:30–16:00'
    >>> hours_text("sunrise-sunset", Prefs()), hours_text("", Prefs())
    ('sunrise-sunset', None)
    """
    if expr is None or not str(expr).strip():
        return None
    words = hours_in_words(str(expr))
    if words is None:
        return str(expr)
    return prefs.t("；", "; ").join(prefs.t(zh, en) for zh, en in words)


def when_text(value: Any, prefs: Prefs, *, ref: Any = None) -> str | None:
    """Say an ISO time as "周一 08:30" / "Mon 08:30" (with the date unless on ``ref``'s day).

    Examples
    --------
    >>> from geosvc.render.i18n import Prefs
    >>> when_text("2026-05-11T08:30:00+08:00", Prefs())
    '周一 05-11 08:30'
    >>> when_text("2026-05-11T08:30", Prefs("en"), ref="2026-05-11T07:00")
    '08:30'
    """
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    try:
        same_day = ref is not None and datetime.fromisoformat(str(ref)).date() == when.date()
    except ValueError:
        same_day = False
    if same_day:
        return when.strftime("%H:%M")
    return f"{weekday(when.weekday(), prefs)} {when.strftime('%m-%d %H:%M')}"
