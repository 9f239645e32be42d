"""Field mapping of an import: each column from a source column, a template or a constant.

A :class:`FieldMap` is what ``--map``/``--set`` on ``geosvc import`` and
``fields:``/``set:`` of a manifest layer say::

    --map code=ID                     code    <- the file's column ID
    --map "name={銀行牌子} {sub區}"     name    <- a template of columns
    --set kind=bank_outlet            kind    =  the same value on every row

:func:`map_rows` applies it to the raw rows of a file, renames the other
headers through the built-in aliases (:func:`~geosvc.importer._fields.header_renames`)
and says what it did (:class:`MappingReport`: where each column came from,
and the first rows mapped, shown by ``--dry-run``).  Targets may be given by
a column name or one of its aliases; a source column by its header as in the
file (or, when that is unambiguous, case-insensitively).  Template text in
braces names a column; ``{{`` and ``}}`` are literal braces; a template whose
columns are all empty on a row gives an empty value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from geosvc.errors import InvalidParameter
from geosvc.importer._fields import as_text, header_renames, is_blank
from geosvc.vocab import header_aliases, normalise_label

__all__ = ["FieldMap", "MappingReport", "Rule", "map_rows", "split_assignments"]

#: Rows of a dry run's preview.
PREVIEW_ROWS = 3

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True, slots=True)
class Rule:
    """One target column and where its values come from.

    Attributes
    ----------
    target : str
        The importer's column name.
    source : Any
        The source column (``column``), template text (``template``) or the
        constant value (``constant``).
    how : str
        ``column``, ``template`` or ``constant``.
    option : str
        Where the rule was given, named in errors (``--map``,
        ``layers[2].fields.name``).
    parts : tuple of (str, bool)
        A template's pieces: ``(text, False)`` literal, ``(column, True)``.
    """

    target: str
    source: Any
    how: str
    option: str
    parts: tuple[tuple[str, bool], ...] = ()

    def columns(self) -> tuple[str, ...]:
        """Return the source columns the rule reads."""
        if self.how == "column":
            return (str(self.source),)
        return tuple(text for text, is_column in self.parts if is_column)

    def describe(self) -> str:
        """Say where the values come from, e.g. ``template '{a} {b}' (--map)``."""
        what = "value" if self.how == "constant" else self.how
        return f"{what} {self.source!r} ({self.option})"


def _template(text: str) -> tuple[tuple[str, bool], ...] | None:
    """Split a template into literal text and column names; None when a brace is unpaired.

    Examples
    --------
    >>> _template("{銀行牌子} {sub區}")
    (('銀行牌子', True), (' ', False), ('sub區', True))
    >>> _template("{{x}}"), _template("a}b")
    ((('{x}', False),), None)
    """
    parts: list[tuple[str, bool]] = []
    pos = 0
    literal = ""
    for match in _TOKEN.finditer(text):
        literal += text[pos:match.start()]
        token = match.group(0)
        if token in ("{{", "}}"):
            literal += token[0]
        elif match.group(1) is None or not match.group(1).strip():
            return None
        else:
            if literal:
                parts.append((literal, False))
                literal = ""
            parts.append((match.group(1).strip(), True))
        pos = match.end()
    literal += text[pos:]
    if literal:
        parts.append((literal, False))
    return tuple(parts)


def split_assignments(values: Iterable[str], option: str) -> dict[str, str]:
    """Split ``TARGET=SOURCE`` strings (``--map``, ``--set``) into a dict.

    Raises
    ------
    InvalidParameter
        Named ``option``: no ``=``, an empty target, or a target given twice.

    Examples
    --------
    >>> split_assignments(["code=ID", "name={a} = {b}"], "--map")
    {'code': 'ID', 'name': '{a} = {b}'}
    """
    out: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for value in values:
        target, sep, source = value.partition("=")
        target = target.strip()
        if not sep or not target:
            problems.append((option, f"must be TARGET=SOURCE, e.g. code=ID (got {value!r})"))
        elif target in out:
            problems.append((option, f"sets {target!r} twice"))
        else:
            out[target] = source.strip()
    if problems:
        raise InvalidParameter.many(problems)
    return out


@dataclass(frozen=True)
class FieldMap:
    """The mapping rules of one layer (see the module docstring)."""

    what: str
    rules: tuple[Rule, ...] = ()

    @classmethod
    def build(cls, what: str, known: Sequence[str], *,
              fields: Mapping[str, Any] | None = None,
              constants: Mapping[str, Any] | None = None,
              fields_option: str = "fields", constants_option: str = "set") -> FieldMap:
        """Check targets and templates and build the rules.

        Parameters
        ----------
        what : str
            The layer kind; targets must be among ``known`` (its columns) or
            their aliases.
        fields : mapping, optional
            Target -> source column, or a template with ``{column}``.
        constants : mapping, optional
            Target -> value given to every row.
        fields_option, constants_option : str
            How errors name the two (``--map``/``--set``; in a manifest
            ``layers[2].fields`` / ``layers[2].set``, each target appended).

        Raises
        ------
        InvalidParameter
            Naming every bad rule: unknown target, a target mapped twice,
            an empty source, an unpaired brace.
        """
        problems: list[tuple[str, str]] = []
        rules: list[Rule] = []
        aliases = header_aliases(what)
        seen: dict[str, str] = {}
        given = [(t, s, fields_option, False) for t, s in (fields or {}).items()]
        given += [(t, s, constants_option, True) for t, s in (constants or {}).items()]
        for raw_target, source, option, constant in given:
            name = option if option.startswith("--") else f"{option}.{raw_target}"
            key = normalise_label(str(raw_target))
            target = aliases.get(key, key)
            if target not in known:
                problems.append((name, f"unknown target column {raw_target!r} for {what}; "
                                       f"one of {', '.join(known)}"))
                continue
            if target in seen:
                problems.append((name, f"maps {target!r} twice (also {seen[target]})"))
                continue
            seen[target] = name
            rule = (Rule(target, source, "constant", option) if constant
                    else cls._rule(target, source, option, name, problems))
            if rule is not None:
                rules.append(rule)
        if problems:
            raise InvalidParameter.many(problems)
        return cls(what, tuple(rules))

    @staticmethod
    def _rule(target: str, source: Any, option: str, name: str,
              problems: list[tuple[str, str]]) -> Rule | None:
        text = "" if source is None else str(source).strip()
        if not text:
            problems.append((name, f"maps {target!r} to nothing; give a source column "
                                   "(or a constant with set)"))
            return None
        if "{" not in text and "}" not in text:
            return Rule(target, text, "column", option)
        parts = _template(text)
        if parts is None or not any(is_column for _, is_column in parts):
            problems.append((name, f"template {text!r} must name columns in braces, "
                                   "e.g. {name} {branch} (literal braces as {{ }})"))
            return None
        return Rule(target, text, "template", option, parts)

    def sources(self, headers: Sequence[str]) -> dict[str, str]:
        """Return ``{source column as given: header of the file}`` of every rule.

        Raises
        ------
        InvalidParameter
            Naming the rule's option for each source column the file lacks
            (and listing the file's columns).
        """
        exact = set(headers)
        loose: dict[str, list[str]] = {}
        for header in headers:
            loose.setdefault(normalise_label(header), []).append(header)
        found: dict[str, str] = {}
        problems: list[tuple[str, str]] = []
        for rule in self.rules:
            for column in rule.columns():
                matches = ([column] if column in exact
                           else loose.get(normalise_label(column), []))
                if len(matches) == 1:
                    found[column] = matches[0]
                    continue
                name = rule.option if rule.option.startswith("--") \
                    else f"{rule.option}.{rule.target}"
                listed = ", ".join(headers) or "none"
                problems.append((name, f"unknown source column {column!r} (for "
                                       f"{rule.target}); the file's columns: {listed}"))
        if problems:
            raise InvalidParameter.many(problems)
        return found


@dataclass(frozen=True)
class MappingReport:
    """How one layer's file was mapped: each column's origin and the first rows.

    Attributes
    ----------
    layer : str
        The layer's name (``what``, or its name in a manifest).
    applied : tuple of (str, str)
        ``(column, origin)`` for each column the importer reads, in the
        order of the layer's columns.
    preview : tuple of (int, dict)
        The first non-blank rows mapped: ``(row number, {column: value})``.
    mapped : bool
        True when a rule, an alias or a case change renamed anything (a
        plain file with the importer's own headers is not "mapped").
    """

    layer: str
    applied: tuple[tuple[str, str], ...]
    preview: tuple[tuple[int, dict[str, Any]], ...]
    mapped: bool

    def lines(self) -> list[str]:
        """Readable lines: one per column, then the preview rows."""
        width = max((len(c) for c, _ in self.applied), default=0)
        out = [f"mapping of {self.layer}:"]
        out += [f"  {column:<{width}} <- {origin}" for column, origin in self.applied]
        if self.preview:
            out.append(f"first {len(self.preview)} row(s) mapped:")
        for row, values in self.preview:
            shown = ", ".join(f"{k}=(empty)" if as_text(v) is None else f"{k}={as_text(v)!r}"
                              for k, v in values.items())
            out.append(f"  row {row}: {shown}")
        return out


def _value(rule: Rule, row: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
    if rule.how == "constant":
        return rule.source
    if rule.how == "column":
        return row.get(headers[str(rule.source)])
    pieces, filled = [], False
    for text, is_column in rule.parts:
        if not is_column:
            pieces.append(text)
            continue
        value = as_text(row.get(headers[text]))
        filled = filled or value is not None
        pieces.append(value or "")
    return "".join(pieces).strip() if filled else None


def map_rows(what: str, rows: list[dict[str, Any]], known: Sequence[str],
             mapping: FieldMap | None = None, *, layer: str | None = None
             ) -> tuple[list[dict[str, Any]], MappingReport]:
    """Apply ``mapping`` and the built-in header aliases to the raw rows of a file.

    Source columns a rule reads are consumed (not reported as ignored); every
    other header is renamed by :func:`header_renames`; a rule's target wins
    over a column of the same name.

    Raises
    ------
    InvalidParameter
        A rule names a source column the file lacks (see :meth:`FieldMap.sources`).
    """
    rules = mapping.rules if mapping is not None else ()
    headers = list(dict.fromkeys(k for row in rows for k in row))
    sources = mapping.sources(headers) if mapping is not None else {}
    consumed = set(sources.values())
    renames = header_renames([h for h in headers if h not in consumed], what, known)
    out = []
    for row in rows:
        new = {renames[k]: v for k, v in row.items() if k not in consumed}
        if not is_blank(row):
            for rule in rules:
                new[rule.target] = _value(rule, row, sources)
        out.append(new)
    origin = {r.target: r.describe() for r in rules}
    for header, column in renames.items():
        if column in known and column not in origin:
            alias = column != normalise_label(header)
            origin[column] = f"column {header!r}" + (" (built-in alias)" if alias else "")
    applied = tuple((c, origin[c]) for c in known if c in origin)
    mapped = bool(rules) or any(c != h for h, c in renames.items() if c in known)
    preview = tuple(islice(((n, {c: values.get(c) for c, _ in applied})
                            for n, values in enumerate(out, start=1) if not is_blank(values)),
                           PREVIEW_ROWS))
    return out, MappingReport(layer or what, applied, preview, mapped)
