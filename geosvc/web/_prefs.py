"""The page preferences of a request (language, elder mode), and remembering them.

:func:`page_prefs` reads the ``lang`` / ``elder`` query parameters, the
cookies and ``Accept-Language`` (rules: :mod:`geosvc.render.i18n`).
:func:`remember` is called on every HTML page answer: when the request
named ``lang`` or ``elder`` it stores the choice in a cookie (one year,
``SameSite=Lax``, readable by the page's own script so the app can keep its
switch in step), and it marks the answer ``Vary: Accept-Language, Cookie``
so shared caches keep the languages apart; an answer that sets a cookie is
made ``private`` (never stored by a shared cache).
"""

from __future__ import annotations

from typing import Final

from flask import Response, request

from geosvc.render.i18n import ELDER_COOKIE, LANG_COOKIE, Prefs, choose_prefs

__all__ = ["page_prefs", "remember"]

_YEAR_S: Final = 365 * 24 * 3600


def page_prefs() -> Prefs:
    """Return the :class:`~geosvc.render.i18n.Prefs` of the current request.

    Raises
    ------
    InvalidParameter
        ``lang`` or ``elder`` has a value the server does not know (400).
    """
    return choose_prefs(
        lang=request.args.get("lang"),
        elder=request.args.get("elder"),
        lang_cookie=request.cookies.get(LANG_COOKIE),
        elder_cookie=request.cookies.get(ELDER_COOKIE),
        accept=request.headers.get("Accept-Language"),
    )


def remember(resp: Response, prefs: Prefs) -> Response:
    """Store the request's explicit choices in cookies and mark the answer's variance."""
    if request.args.get("lang", "").strip():  # an empty value counts as absent
        resp.set_cookie(LANG_COOKIE, prefs.lang, max_age=_YEAR_S, samesite="Lax")
    if request.args.get("elder", "").strip():
        resp.set_cookie(ELDER_COOKIE, "1" if prefs.elder else "0", max_age=_YEAR_S,
                        samesite="Lax")
    if "Set-Cookie" in resp.headers and resp.cache_control.public:
        # a shared cache must not hand this visitor's cookie to the next one
        resp.cache_control.public = False
        resp.cache_control.private = True
    resp.vary.add("Accept-Language")
    resp.vary.add("Cookie")
    return resp
