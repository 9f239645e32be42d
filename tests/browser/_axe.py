"""axe-core (WCAG 2 A/AA) in the browser tests: no serious or critical violation allowed.

The engine is the ``axe.min.js`` that the ``axe-playwright-python`` package
ships (axe-core 4.x, offline); it is evaluated through the DevTools protocol,
which the pages' Content-Security-Policy does not block, so pages are checked
as served.
"""

from __future__ import annotations

from typing import Any, Final

from axe_playwright_python.sync_playwright import Axe

__all__ = ["BLOCKING", "axe_problems"]

#: Impacts a page may not have.
BLOCKING: Final = frozenset({"serious", "critical"})
_TAGS: Final = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_AXE = Axe()


def axe_problems(page: Any, *, exclude: list[str] | None = None) -> list[str]:
    """Return one line per serious/critical axe violation on ``page`` (empty: clean).

    ``exclude`` lists CSS selectors axe skips (e.g. third-party map tiles).
    """
    context: Any = {"exclude": [[s] for s in exclude]} if exclude else None
    options = {"runOnly": {"type": "tag", "values": _TAGS}, "resultTypes": ["violations"]}
    results = _AXE.run(page, context=context, options=options)
    lines = []
    for v in results.response.get("violations", []):
        if v.get("impact") in BLOCKING:
            targets = [",".join(n.get("target", [])) for n in v.get("nodes", [])][:5]
            lines.append(f"{v['impact']} {v['id']}: {v['help']} at {targets}")
    return lines
