"""Item search by Chinese text, pinyin, pinyin initials, item code or English name.

``GET /api/v1/items?q=`` is served by :class:`ItemSearch`, built once per data
snapshot.  A query matches an item when it matches any of:

* the **Chinese name**, as a substring (``社会保障``) or, failing that, as an
  abbreviation: the query's characters appear in order (``社保`` finds
  社会保障卡);
* the **pinyin** of the name without tones, case-insensitive, spaces ignored:
  each syllable can be typed in full or cut short, so full pinyin
  (``shehuibaozhangka``, ``she bao``), initials (``shbzk``, ``sb``) and mixtures
  (``shebzk``) all work.  Common polyphones (行 长 重 ...) match in either
  reading (``yinxing`` and ``yinhang`` both find 银行...).  Syllables may be
  skipped (an abbreviation: ``sb``, ``shebao``);
* the **item code**, case-insensitive (exact, prefix or substring);
* the **English name**, case-insensitive: the whole phrase, or every query word
  as the beginning of some word of the name (``card renew``).

Ranking, best first: exact match; prefix; abbreviation from the start of the
name (``社保`` -> 社会保障卡申领; more compact spans first); substring
(contiguous, elsewhere in the name); abbreviation elsewhere.  Ties go to
high-frequency items first, then the shorter (Chinese) name, then the code.
An empty query returns every item, high-frequency items first, then by code.

Everything is precomputed at construction (about 0.2 ms per item, pypinyin
being the cost).  A first query over 1,000 items takes about 0.3-2 ms on a
busy 2-core machine (regular-expression scans over the joined keys, then
exact grading of the candidates only); repeated queries are served from a
per-instance LRU cache in microseconds.
"""

from __future__ import annotations

import bisect
import operator
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from geosvc.errors import InvalidParameter
from geosvc.model import ServiceItem

__all__ = [
    "ABBREVIATION",
    "EXACT",
    "MAX_QUERY_CHARS",
    "PREFIX",
    "START_ABBREVIATION",
    "SUBSTRING",
    "ItemSearch",
    "NameSearch",
    "fold",
]

#: Match grades, best first.
EXACT: Final = 0
PREFIX: Final = 1
START_ABBREVIATION: Final = 2
SUBSTRING: Final = 3
ABBREVIATION: Final = 4
_NONE: Final = 9

#: Longest query accepted, characters.
MAX_QUERY_CHARS: Final = 100

#: Extra readings of common polyphones, so that either reading matches
#: whatever pypinyin chose for the phrase.
POLYPHONES: Final[dict[str, tuple[str, ...]]] = {
    "行": ("xing", "hang"),
    "长": ("chang", "zhang"),
    "重": ("zhong", "chong"),
    "还": ("huan", "hai"),
    "会": ("hui", "kuai"),
    "调": ("diao", "tiao"),
    "传": ("chuan", "zhuan"),
    "种": ("zhong", "chong"),
    "藏": ("cang", "zang"),
    "单": ("dan", "shan"),
    "省": ("sheng", "xing"),
    "给": ("gei", "ji"),
    "觉": ("jue", "jiao"),
    "参": ("can", "shen"),
    "率": ("lv", "shuai"),
    "曾": ("ceng", "zeng"),
    "朝": ("chao", "zhao"),
    "降": ("jiang", "xiang"),
    "差": ("cha", "chai"),
    "便": ("bian", "pian"),
    "解": ("jie", "xie"),
    "卡": ("ka", "qia"),
    "处": ("chu",),
    "地": ("di", "de"),
    "都": ("du", "dou"),
    "乐": ("le", "yue"),
    "假": ("jia",),
    "期": ("qi",),
    "属": ("shu", "zhu"),
    "供": ("gong",),
    "落": ("luo", "la"),
    "校": ("xiao", "jiao"),
    "车": ("che", "ju"),
    "区": ("qu", "ou"),
}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACE = re.compile(r"\s+")


def _normalise(text: str) -> str:
    """NFKC (full-width letters -> ASCII), lower case, single spaces."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def _slots(name: str) -> tuple[tuple[str, ...], ...]:
    """Pinyin syllable slots of ``name``: per syllable, the readings accepted."""
    from pypinyin import (  # lazy: pypinyin takes ~0.15 s to import; only this path needs it
        Style,
        pinyin,
    )

    out: list[tuple[str, ...]] = []
    readings = pinyin(name, style=Style.NORMAL, heteronym=True, errors="default")
    # pypinyin yields one entry per Chinese character and one per run of other text.
    chars = _split_like_pypinyin(name)
    # strict=False: on unusual text the two splits may differ; pair what aligns (as before).
    for chunk, alts in zip(chars, readings, strict=False):
        if len(chunk) == 1 and _CJK.match(chunk):
            opts: list[str] = []
            for r in (*alts, *POLYPHONES.get(chunk, ())):
                r = _NOT_ALNUM.sub("", _normalise(r).replace("ü", "v"))
                if r and r not in opts:
                    opts.append(r)
            if opts:
                out.append(tuple(opts))
        else:
            for word in _NOT_ALNUM.split(_normalise(chunk)):
                if word:
                    out.append((word,))
    return tuple(out)


def _split_like_pypinyin(name: str) -> list[str]:
    parts: list[str] = []
    buf = ""
    for ch in name:
        if _CJK.match(ch):
            if buf:
                parts.append(buf)
                buf = ""
            parts.append(ch)
        else:
            buf += ch
    if buf:
        parts.append(buf)
    return parts


def _grade_pinyin(
    q: str, slots: tuple[tuple[str, ...], ...], starts: dict[str, tuple[int, ...]]
) -> float:
    """Best grade of letters ``q`` against syllable ``slots``.

    ``starts`` maps a letter to the slots having a reading that begins with it.
    A match from the first slot beats any other, so it is tried first.
    """
    candidates = starts.get(q[0], ())
    if not candidates:
        return _NONE
    n = len(slots)
    if len(q) == 1:
        if candidates[0] == 0:
            return EXACT if n == 1 else PREFIX
        return SUBSTRING
    best: float = _NONE
    for start in candidates:
        end, skipped = _greedy(q, slots, start)
        if end < 0:
            continue
        if start == 0:
            if skipped:
                # Compact abbreviations first: 社保 -> 社会保障卡 (span 3) before
                # 税务登记报销 (span 5).  Encoded as a fraction of the grade.
                return START_ABBREVIATION + min(end, 99) / 100
            return EXACT if end == n - 1 else PREFIX
        if not skipped:
            return SUBSTRING
        best = min(best, ABBREVIATION + min(end - start, 99) / 100)
    return best


def _fast(q: str, slots: tuple[tuple[str, ...], ...], start: int) -> int:
    """Contiguous longest-prefix-per-slot reading of ``q`` from ``start``; last slot or -1."""
    j = 0
    i = start
    m = len(q)
    n = len(slots)
    while j < m:
        if i >= n:
            return -1
        rest = q[j:]
        take = 0
        for alt in slots[i]:
            if rest.startswith(alt):
                k = len(alt)
            elif alt[0] != rest[0]:
                continue
            else:
                k = 1
                lim = min(len(alt), m - j)
                while k < lim and alt[k] == rest[k]:
                    k += 1
            if k > take:
                take = k
        if take == 0:
            return -1
        j += take
        i += 1
    return i - 1


def _greedy(q: str, slots: tuple[tuple[str, ...], ...], start: int) -> tuple[int, bool]:
    """Consume ``q`` from slot ``start``, each slot giving a prefix of one reading.

    Every way of cutting ``q`` into syllable prefixes is considered (memoised
    over (slot, query position)), so ``shbzk`` reads s-h-b-z-k, not sh-...;
    contiguous readings win over ones that skip slots, then readings that end
    on the last slot (an exact match from slot 0), then compact ones.
    Returns (last slot used, whether any slot was skipped), or (-1, True).
    """
    end = _fast(q, slots, start)
    if end >= 0 and (start != 0 or end == len(slots) - 1):
        return end, False  # already the best possible kind of reading
    found = _Cuts(q, slots).best(start, 0) if slots[start] else None
    if found is None:
        return -1, True
    return found[2], found[0]


#: A reading of the query: (skips a slot, does not end on the last slot, last slot used);
#: smaller is better.
_Reading = tuple[bool, bool, int]


class _Cuts:
    """The best reading of ``q`` over syllable ``slots``, memoised per (slot, position)."""

    __slots__ = ("last", "m", "memo", "n", "q", "slots")

    def __init__(self, q: str, slots: tuple[tuple[str, ...], ...]) -> None:
        self.q = q
        self.slots = slots
        self.m = len(q)
        self.n = len(slots)
        self.last = self.n - 1
        self.memo: dict[tuple[int, int], _Reading | None] = {}

    def best(self, i: int, j: int) -> _Reading | None:
        """Return the best reading of ``q[j:]`` from slot ``i`` (skippable once ``j > 0``)."""
        key = (i, j)
        if key in self.memo:
            return self.memo[key]
        result: _Reading | None = None
        if i < self.n:
            result = self._taking(i, j)
            if j > 0 and (result is None or result[0]):
                sub = self.best(i + 1, j)
                if sub is not None:
                    cand = (True, sub[1], sub[2])
                    if result is None or cand < result:
                        result = cand
        self.memo[key] = result
        return result

    def _taking(self, i: int, j: int) -> _Reading | None:
        """Return the best reading of ``q[j:]`` taking a prefix of a reading of slot ``i``."""
        q, m = self.q, self.m
        rest = q[j:]
        head = rest[0]
        result: _Reading | None = None
        for alt in self.slots[i]:
            if alt[0] != head:
                continue
            lim = min(len(alt), m - j)
            k = 1
            while k < lim and alt[k] == rest[k]:
                k += 1
            for take in range(k, 0, -1):
                if j + take == m:
                    cand: _Reading | None = (False, i != self.last, i)
                else:
                    cand = self.best(i + 1, j + take)
                if cand is not None and (result is None or cand < result):
                    result = cand
        return result


def _first_letters(slots: tuple[tuple[str, ...], ...]) -> dict[str, tuple[int, ...]]:
    out: dict[str, list[int]] = {}
    for i, alts in enumerate(slots):
        for letter in {a[0] for a in alts}:
            out.setdefault(letter, []).append(i)
    return {k: tuple(v) for k, v in out.items()}


def _put(grades: dict[int, float], i: int, g: float) -> None:
    """Keep grade ``g`` for item ``i`` if it beats the one found so far (lower is better)."""
    if g < grades.get(i, _NONE):
        grades[i] = g


class ItemSearch:
    """Search service items by Chinese text, pinyin, initials, code or English.

    Parameters
    ----------
    items : sequence of ServiceItem
        The catalogue; :meth:`search` returns positions into it.
    latin_in_order : bool
        Whether a query without Chinese characters also matches a name
        holding its characters in order (``sb`` in "sb" -> "Stockmann Abp");
        names mixing Latin text and Chinese (:class:`NameSearch`) turn it off.

    Examples
    --------
    >>> from geosvc.model import ServiceItem
    >>> items = [ServiceItem("A1", "社会保障卡申领", "Social security card application"),
    ...          ServiceItem("A2", "社会保障卡补办", high_frequency=True),
    ...          ServiceItem("B1", "银行开户")]
    >>> s = ItemSearch(items)
    >>> s.search("社保"), s.search("shebao"), s.search("sb"), s.search("yinxing")
    ([1, 0], [1, 0], [1, 0], [2])
    >>> s.search("social card"), s.search("b1"), s.search("")
    ([0], [2], [1, 0, 2])
    """

    def __init__(self, items: Sequence[ServiceItem], *, latin_in_order: bool = True) -> None:
        self.items: tuple[ServiceItem, ...] = tuple(items)
        self._latin_in_order = latin_in_order
        n = len(self.items)
        self._names = [_normalise(it.name) for it in self.items]
        self._codes = [_normalise(it.code) for it in self.items]
        self._en = [_normalise(it.name_en or "") for it in self.items]
        self._slots = [_slots(it.name) for it in self.items]
        self._tiebreak = [
            (not it.high_frequency, len(it.name), it.code) for it in self.items
        ]
        self._default_order = tuple(
            sorted(
                range(n), key=lambda i: (not self.items[i].high_frequency, self.items[i].code)
            )
        )
        self._starts = [_first_letters(sl) for sl in self._slots]
        # Per-instance cache of ranked results (the instance is immutable).
        self._ranked = lru_cache(maxsize=2048)(self._ranked_uncached)
        self._graded = lru_cache(maxsize=2048)(self._graded_uncached)
        # Joined texts (one line per item) for one-pass candidate scans.
        self._name_text, self._name_off = self._join(self._names)
        self._code_text, self._code_off = self._join(self._codes)
        self._en_text, self._en_off = self._join(self._en)
        self._py_text, self._py_off = self._join(
            ["/".join("".join(" " + a for a in alts) for alts in sl) for sl in self._slots]
        )

    def __len__(self) -> int:
        return len(self.items)

    @staticmethod
    def _join(lines: list[str]) -> tuple[str, list[int]]:
        offsets = []
        pos = 0
        for line in lines:
            offsets.append(pos)
            pos += len(line) + 1
        return "\n".join(lines) + "\n", offsets

    @staticmethod
    def _lines(pattern: re.Pattern[str], text: str, offsets: list[int]) -> list[int]:
        """Return the indices of the lines of ``text`` where ``pattern`` matches (once each)."""
        hits: list[int] = []
        pos = 0
        search = pattern.search
        while True:
            m = search(text, pos)
            if m is None:
                return hits
            line = bisect.bisect_right(offsets, m.start()) - 1
            hits.append(line)
            pos = text.find("\n", m.start()) + 1

    def search(self, q: str | None, *, limit: int | None = None) -> list[int]:
        """Return the positions of the items matching ``q``, best first.

        Parameters
        ----------
        q : str or None
            Chinese text, pinyin (full, initials or mixed; spaces ignored),
            item code or English words.  Empty or None: every item,
            high-frequency first, then by code.
        limit : int, optional
            At most this many positions.

        Returns
        -------
        list of int
            Positions into ``items`` (a new list; the caller may keep it).

        Raises
        ------
        InvalidParameter
            ``q`` longer than 100 characters or not text; ``limit`` negative.
        """
        if limit is not None:
            try:
                limit = operator.index(limit) if not isinstance(limit, bool) else -1
            except TypeError:
                limit = -1
            if limit < 0:
                msg = "must be a whole number >= 0"
                raise InvalidParameter("limit", msg)
        if q is not None and not isinstance(q, str):
            msg = "must be text"
            raise InvalidParameter("q", msg)
        if q is not None and len(q) > MAX_QUERY_CHARS:
            msg = f"must be at most {MAX_QUERY_CHARS} characters"
            raise InvalidParameter("q", msg)
        found = self._ranked(_normalise(q or ""))
        return list(found if limit is None else found[:limit])

    def graded(self, q: str) -> tuple[tuple[int, float], ...]:
        """Return ``(position, grade)`` of every item matching ``q``, best first.

        The grade (``EXACT`` .. ``ABBREVIATION``, abbreviations carrying their
        compactness as a fraction) lets a caller mix this ranking with another
        one, e.g. distance among equally good matches.  No validation: see
        :meth:`search`.
        """
        text = _normalise(q)
        if not text:
            return ()
        return self._graded(text)

    def grade(self, q: str, position: int) -> int | None:
        """Return the match grade (``EXACT`` .. ``ABBREVIATION``) of one item, None if none."""
        g = self._grades(_normalise(q)).get(position)
        return None if g is None else int(g)

    def _ranked_uncached(self, text: str) -> tuple[int, ...]:
        if not text:
            return self._default_order
        grades = self._grades(text)
        tie = self._tiebreak
        return tuple(sorted(grades, key=lambda i: (grades[i], tie[i])))

    def _graded_uncached(self, text: str) -> tuple[tuple[int, float], ...]:
        grades = self._grades(text)
        tie = self._tiebreak
        return tuple((i, grades[i]) for i in sorted(grades, key=lambda i: (grades[i], tie[i])))

    # ------------------------------------------------------------------ grading

    def _grades(self, text: str) -> dict[int, float]:
        """Return the best grade of each item matching normalised ``text`` (position: grade)."""
        grades: dict[int, float] = {}
        chars = text.replace(" ", "")
        self._grade_chinese(chars, grades)
        if _CJK.search(text):
            return grades
        self._grade_codes(chars, grades)
        self._grade_english(text, grades)
        self._grade_letters(text, grades)
        return grades

    def _grade_chinese(self, chars: str, grades: dict[int, float]) -> None:
        """Grade Chinese names: substring, else abbreviation (characters in order)."""
        names = self._names
        sub = re.compile(re.escape(chars))
        for i in self._lines(sub, self._name_text, self._name_off):
            name = names[i]
            _put(grades, i,
                 EXACT if name == chars else PREFIX if name.startswith(chars) else SUBSTRING)
        if len(chars) > 1 and (self._latin_in_order or _CJK.search(chars)):
            abbr = re.compile(
                re.escape(chars[0])
                + "".join(f"[^{re.escape(c)}\\n]*+{re.escape(c)}" for c in chars[1:])
            )
            for m in abbr.finditer(self._name_text):
                i = bisect.bisect_right(self._name_off, m.start()) - 1
                span = min(m.end() - m.start(), 99) / 100
                at_start = m.start() == self._name_off[i]
                _put(grades, i, (START_ABBREVIATION if at_start else ABBREVIATION) + span)

    def _grade_codes(self, chars: str, grades: dict[int, float]) -> None:
        """Grade item codes: exact, prefix, substring."""
        codes = self._codes
        sub = re.compile(re.escape(chars))
        for i in self._lines(sub, self._code_text, self._code_off):
            code = codes[i]
            _put(grades, i,
                 EXACT if code == chars else PREFIX if code.startswith(chars) else SUBSTRING)

    def _grade_english(self, text: str, grades: dict[int, float]) -> None:
        """Grade English names: every query word begins a word of the name.

        One C-speed scan finds them; the grade says how the whole phrase sits
        in the name.
        """
        words = text.split(" ")
        look = "".join(f"(?=[^\\n]*\\b{re.escape(w)})" for w in words)
        en = self._en
        for i in self._lines(re.compile("^" + look, re.MULTILINE), self._en_text, self._en_off):
            name = en[i]
            if name == text:
                _put(grades, i, EXACT)
            elif name.startswith(text):
                _put(grades, i, PREFIX)
            elif " " + text in " " + name:
                _put(grades, i, SUBSTRING)
            else:
                first = name.startswith(words[0])
                _put(grades, i, START_ABBREVIATION if first else ABBREVIATION)

    def _grade_letters(self, text: str, grades: dict[int, float]) -> None:
        """Grade pinyin readings: letters only; candidates are lines holding them in order."""
        letters = _NOT_ALNUM.sub("", text)
        if not letters:
            return
        pre = re.compile(
            " "
            + re.escape(letters[0])
            + "".join(f"[^{re.escape(c)}\\n]*+{re.escape(c)}" for c in letters[1:])
        )
        slots = self._slots
        starts = self._starts
        for i in self._lines(pre, self._py_text, self._py_off):
            if grades.get(i, _NONE) == EXACT:
                continue
            g = _grade_pinyin(letters, slots[i], starts[i])
            if g != _NONE:
                _put(grades, i, g)


# ---------------------------------------------------------------------- names

_MIN_INSIDE = 3  # shorter queries match names only at the start of a word
_MARKS = re.compile(r"[\u0300-\u036f]")  # combining diacritical marks (after NFKD)
_WORD_START = re.compile(r"[^\w]", re.UNICODE)


def fold(text: str) -> str:
    """Return ``text`` for accent- and case-insensitive comparison.

    NFKD without combining marks (``Töölö`` -> ``toolo``), then NFKC (full-width
    letters -> ASCII), case-folded, single spaces.  Chinese text is unchanged.

    Examples
    --------
    >>> fold("  Töölönkatu "), fold("ＡＢＣ Café"), fold("区A")
    ('toolonkatu', 'abc cafe', '区a')
    """
    bare = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", bare).casefold()).strip()


class NameSearch:
    """Search names (venues, streets, places) by text, ignoring case and accents.

    Each entry has one or more texts (a name, an English name, a code).  A
    query matches an entry when, folded (:func:`fold`), it is

    * the whole of one text (``EXACT``), its beginning (``PREFIX``), the
      beginning of one of its words (``START_ABBREVIATION``: "katu" in
      "Fabianin katu" but not in "Fabianinkatu") or, from three characters
      on, anywhere inside it (``SUBSTRING``: "katu" in "Fabianinkatu"):
      ``toolo``, ``Töölö`` and ``TÖÖ`` all find Töölö;
    * for names with Chinese characters, a match of the item search
      (:class:`ItemSearch`: pinyin, initials, Chinese characters in order;
      Latin letters only as whole words or their initials).

    Unlike :class:`ItemSearch`, Latin letters are never matched out of
    order: ``sb`` does not find "Stockmann Oyj Abp".  Precomputation costs
    about 5 µs per entry plus 0.2 ms per Chinese name; a query scans the
    joined texts once (about 0.1 ms per 1,000 entries) and is cached.

    Parameters
    ----------
    texts : sequence of sequence of str
        Per entry, its texts (empty strings and None are skipped).

    Examples
    --------
    >>> s = NameSearch([("Töölönkatu",), ("Mannerheimintie",), ("区A", "HEL-D1"),
    ...                 ("Helsingin kaupungintalo 7×24自助服务区",)])
    >>> s.search("toolo"), s.search("TÖÖ"), s.search("tie"), s.search("qa"), s.search("zzfw")
    ([0], [0], [1], [2], [3])
    >>> s.search("ti"), s.search("ma")  # two letters: only at the start of a word
    ([], [1])
    >>> s.graded("hel-d1")
    ((2, 0),)
    >>> s.search("7")  # codes and digits match as text, never a placeholder
    [3]
    """

    def __init__(self, texts: Sequence[Sequence[str | None]]) -> None:
        self._keys: list[tuple[str, ...]] = [
            tuple(dict.fromkeys(fold(t) for t in entry if t)) for entry in texts]
        self._n = len(self._keys)
        lines = ["\t".join(k) for k in self._keys]
        self._text = "\n".join(lines) + "\n"
        self._off: list[int] = []
        pos = 0
        for line in lines:
            self._off.append(pos)
            pos += len(line) + 1
        self._len = [len(k[0]) if k else 0 for k in self._keys]
        chinese = [(i, str(entry[0])) for i, entry in enumerate(texts)
                   if entry and entry[0] and _CJK.search(str(entry[0]))]
        self._cjk_pos = [i for i, _ in chinese]
        self._cjk = ItemSearch([ServiceItem(code="\x00", name=name)
                                for i, name in chinese],
                               latin_in_order=False) if chinese else None
        self._graded = lru_cache(maxsize=2048)(self._graded_uncached)

    def __len__(self) -> int:
        return self._n

    def search(self, q: str) -> list[int]:
        """Return the positions of the entries matching ``q``, best first."""
        return [i for i, _ in self.graded(q)]

    def graded(self, q: str) -> tuple[tuple[int, int], ...]:
        """Return ``(position, grade)`` of the entries matching ``q``, best first.

        Grades are whole numbers, ``EXACT`` .. ``ABBREVIATION``; ties go to
        the shorter first text, then the position.
        """
        text = fold(q)
        if not text or len(q) > MAX_QUERY_CHARS:
            return ()
        return self._graded(text)

    def _graded_uncached(self, text: str) -> tuple[tuple[int, int], ...]:
        grades: dict[int, int] = {}
        body = self._text
        off = self._off
        keys = self._keys
        find = body.find
        pos = find(text)
        while pos >= 0:
            i = bisect.bisect_right(off, pos) - 1
            best = _NONE
            for key in keys[i]:
                at = key.find(text)
                while at >= 0 and best > EXACT:
                    if at == 0:
                        g = EXACT if len(key) == len(text) else PREFIX
                    elif _WORD_START.match(key[at - 1]):
                        g = START_ABBREVIATION
                    elif len(text) >= _MIN_INSIDE:
                        g = SUBSTRING
                    else:
                        g = _NONE
                    best = min(best, g)
                    at = key.find(text, at + 1)
            if best != _NONE:
                grades[i] = best
            end = body.find("\n", pos)
            pos = find(text, end + 1) if end >= 0 else -1
        if self._cjk is not None and not _CJK_FREE_SYMBOLS.fullmatch(text):
            for j, grade in self._cjk.graded(text):
                k = self._cjk_pos[j]
                grades[k] = min(grades.get(k, _NONE), int(grade))
        length = self._len
        order = sorted(grades, key=lambda i: (grades[i], length[i], i))
        return tuple((i, grades[i]) for i in order)


#: Queries with no letter, digit or Chinese character (the item search would match nothing).
_CJK_FREE_SYMBOLS = re.compile(r"[^\w\u3400-\u9fff]*")
