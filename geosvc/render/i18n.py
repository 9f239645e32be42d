"""Page language and the elder-friendly mode: one choice per request, one helper per text.

Every HTML page (the app at ``/``, ``/map``, ``/embed``, ``/venues/{id}``,
``/docs``, the error pages) is written in **one** language, Chinese or
English, picked by :func:`choose_prefs` in this order:

1. the ``lang`` query parameter (``zh`` or ``en``; anything else is a 400
   naming ``lang``), which the web layer also *remembers* in a cookie;
2. the remembered cookie (``geosvc_lang``), when it holds a known value;
3. the browser's ``Accept-Language`` header, by quality (``zh-CN``,
   ``zh-TW``, ``zh-Hant`` -> ``zh``; ``en-GB`` -> ``en``);
4. :data:`DEFAULT_LANG` (Chinese: the product serves Chinese cities).

The elder-friendly mode (长辈版: large type, high contrast, one column,
fewer choices) is chosen the same way by ``elder=1|0`` and the
``geosvc_elder`` cookie; it is off unless asked for.

Renderers take a :class:`Prefs` and write text through :meth:`Prefs.t`
(``prefs.t("营业中", "open")``), so adding a language is adding an argument
there and an entry in :data:`LANGS`.  No Flask here: the web layer reads the
request (``geosvc.web._prefs``) and passes the raw values in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from geosvc.errors import InvalidParameter

__all__ = [
    "DEFAULT_LANG",
    "ELDER_COOKIE",
    "LANGS",
    "LANG_COOKIE",
    "Prefs",
    "accept_language",
    "choose_prefs",
]

#: Page languages, as BCP 47 primary tags (also the ``<html lang>`` values).
LANGS: Final = ("zh", "en")
#: The language of a request that names none the server knows.
DEFAULT_LANG: Final = "zh"
#: Cookie names remembering the choices (values: a LANGS entry; "1"/"0").
LANG_COOKIE: Final = "geosvc_lang"
ELDER_COOKIE: Final = "geosvc_elder"

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class Prefs:
    """How one page is written: its language and whether the elder mode is on.

    Examples
    --------
    >>> Prefs("en").t("营业中", "open")
    'open'
    >>> Prefs().t("营业中", "open"), Prefs().html_lang, Prefs("en").other
    ('营业中', 'zh-CN', 'zh')
    """

    lang: str = DEFAULT_LANG
    elder: bool = False

    def t(self, zh: str, en: str) -> str:
        """Return the text in the page's language (``zh`` or ``en`` version)."""
        return en if self.lang == "en" else zh

    @property
    def html_lang(self) -> str:
        """The ``<html lang>`` value: ``zh-CN`` or ``en``."""
        return "zh-CN" if self.lang == "zh" else self.lang

    @property
    def other(self) -> str:
        """The language a switch on the page offers (the one not shown)."""
        return "en" if self.lang == "zh" else "zh"

    @property
    def key(self) -> tuple[str, bool]:
        """A hashable key for caches of rendered pages."""
        return (self.lang, self.elder)


def accept_language(header: str | None) -> str | None:
    """Return the first language of :data:`LANGS` an ``Accept-Language`` header asks for.

    Languages are taken by quality (highest first; ties keep the header's
    order); ``q=0`` means "not this one"; ``*`` matches nothing specific.

    Examples
    --------
    >>> accept_language("en-GB,en;q=0.9,zh-CN;q=0.8")
    'en'
    >>> accept_language("fi, zh-TW;q=0.5, en;q=0.3")
    'zh'
    >>> accept_language("zh-Hant-HK;q=0, en;q=0.1"), accept_language("fr, *")
    ('en', None)
    >>> accept_language(None) is None
    True
    """
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-", 1)[0]
        if q > 0 and primary in LANGS:
            ranked.append((-q, order, primary))
    return min(ranked)[2] if ranked else None


def _flag(raw: str | None) -> bool | None:
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def choose_prefs(*, lang: str | None = None, elder: str | None = None,
                 lang_cookie: str | None = None, elder_cookie: str | None = None,
                 accept: str | None = None) -> Prefs:
    """Pick a page's language and elder mode from the request's raw values.

    Parameters
    ----------
    lang, elder : str, optional
        The ``lang`` and ``elder`` query parameters, as sent.
    lang_cookie, elder_cookie : str, optional
        The remembered choices (cookies); unknown values are ignored.
    accept : str, optional
        The ``Accept-Language`` header.

    Raises
    ------
    InvalidParameter
        ``lang`` is not one of :data:`LANGS`, or ``elder`` is not a boolean.

    Examples
    --------
    >>> choose_prefs(lang="en", lang_cookie="zh", accept="zh")
    Prefs(lang='en', elder=False)
    >>> choose_prefs(lang_cookie="en", accept="zh-CN", elder_cookie="1")
    Prefs(lang='en', elder=True)
    >>> choose_prefs(accept="en-US,en;q=0.9", elder="0", elder_cookie="1")
    Prefs(lang='en', elder=False)
    >>> choose_prefs()
    Prefs(lang='zh', elder=False)
    >>> choose_prefs(lang="", elder="", lang_cookie="en")  # empty counts as absent
    Prefs(lang='en', elder=False)
    """
    lang = lang.strip() or None if lang is not None else None
    elder = elder.strip() or None if elder is not None else None
    if lang is not None and lang not in LANGS:
        reason = f"must be one of {', '.join(LANGS)}, not {lang[:20]!r}"
        raise InvalidParameter("lang", reason)
    chosen = (lang
              or (lang_cookie if lang_cookie in LANGS else None)
              or accept_language(accept)
              or DEFAULT_LANG)
    asked = _flag(elder)
    if elder is not None and asked is None:
        reason = f"must be a boolean (1 or 0), not {elder[:20]!r}"
        raise InvalidParameter("elder", reason)
    remembered = _flag(elder_cookie)
    on = asked if asked is not None else bool(remembered)
    return Prefs(chosen, on)
