"""Dataset settings given with an import: name, time zone, holiday calendar, country.

One validator for the three places that set them: a manifest's ``dataset:``,
the ``--timezone``/``--calendar``/``--country`` options of ``geosvc import``
and ``geosvc dataset set``.  Settings not given keep their stored value
(:func:`merge_settings`), so an import never resets a dataset's zone to the
default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from geosvc.errors import InvalidParameter
from geosvc.hours import get_calendar
from geosvc.model import DatasetInfo

__all__ = ["SETTINGS", "check_setting", "check_settings", "merge_settings"]

#: Dataset settings, in the order they are checked.
SETTINGS: tuple[str, ...] = ("name", "timezone", "calendar", "country")

_COUNTRY = re.compile(r"[A-Za-z]{2}")


def check_setting(key: str, value: Any) -> Any:
    """Return the stored form of one setting, or raise ValueError saying why it is bad.

    ``calendar`` becomes ``"cn"`` or None (``none``, empty); ``country`` an
    upper-case ISO 3166-1 alpha-2 code; ``timezone`` must be an IANA zone.

    Examples
    --------
    >>> check_setting("calendar", "None"), check_setting("country", "hk")
    (None, 'HK')
    >>> check_setting("timezone", "Mars/Olympus")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: is not a known time zone (got 'Mars/Olympus'); e.g. Asia/Shanghai, ...
    """
    if key == "calendar":
        try:
            get_calendar(value)
        except InvalidParameter as exc:
            raise ValueError(exc.invalid_params[0]["reason"]) from None
        text = "" if value is None else str(value).strip().lower()
        return None if text in ("", "none") else text
    if not isinstance(value, str) or not value.strip():
        msg = "must be non-empty text"
        raise ValueError(msg)
    text = value.strip()
    if key == "timezone":
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"is not a known time zone (got {text!r}); e.g. Asia/Shanghai, Asia/Hong_Kong"
            raise ValueError(msg) from None
    elif key == "country":
        if not _COUNTRY.fullmatch(text):
            msg = f"must be a two-letter ISO 3166 country code, e.g. CN, HK (got {text!r})"
            raise ValueError(msg)
        text = text.upper()
    elif key != "name":
        msg = f"is not a dataset setting (one of {', '.join(SETTINGS)})"
        raise ValueError(msg)
    return text


def check_settings(raw: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """Check every setting of ``raw``; return their stored forms.

    Raises
    ------
    InvalidParameter
        Naming each bad one ``prefix + key`` (``dataset.timezone``).
    """
    problems: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    for key in [*SETTINGS, *(k for k in raw if k not in SETTINGS)]:
        if key not in raw:
            continue
        try:
            out[key] = check_setting(key, raw[key])
        except ValueError as exc:
            problems.append((f"{prefix}{key}", str(exc)))
    if problems:
        raise InvalidParameter.many(problems)
    return out


def merge_settings(info: DatasetInfo, changes: Mapping[str, Any]) -> DatasetInfo:
    """Return ``info`` with ``changes`` (checked settings) applied."""
    return replace(info, **{k: v for k, v in changes.items() if k in SETTINGS})
