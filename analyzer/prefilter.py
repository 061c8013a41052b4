"""The chunk prefilter: where in a buffer does the next trigger literal occur?

Big inputs are scanned in 1 MiB chunks by one compiled multi-literal matcher, and only the
lines around its hits are decoded and parsed. Engines, best first: hyperscan (SIMD literal
matching, ~2× grep), google-re2 (a DFA, ~grep speed), then Python's ``re`` (correct everywhere,
~0.3× grep: see :class:`ReUnion`). ``HFEXPLAIN_PREFILTER=hyperscan|re2|re`` forces one. The
literals come from the rules (:mod:`analyzer.triggers`), so a new rule cannot escape the prefilter.
"""

from __future__ import annotations

import os
import re
import zlib

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import AnyStr


class PieceSearch:
    """Finds the first of many literals with Python's ``re``, several times faster than their union.

    ``re`` skips ahead over positions whose character cannot start the pattern, but a union of
    the literals starts with nearly every letter. So each literal is looked for by a piece of it
    that starts with a character rare in ``sample`` (text like the one to be searched); the pieces
    are grouped by first character, and a hit is confirmed by comparing the whole literal in place.
    Works on ``str`` and on ``bytes``/``bytearray`` alike (literals and text of one kind).
    """

    PIECE = 16

    def __init__(self, literals: Iterable[AnyStr], sample: AnyStr) -> None:
        from collections import Counter

        seen = Counter(sample)
        self._pieces: dict[object, list[tuple[AnyStr, AnyStr, int]]] = {}  # first char -> (piece, literal, offset)
        for literal in sorted(set(literals), key=len):
            if not literal:
                continue
            shortest = min(len(literal), 4)
            offset = min(range(len(literal) - shortest + 1), key=lambda i: seen[literal[i]])  # the first rarest
            piece = literal[offset:offset + self.PIECE]
            self._pieces.setdefault(piece[0], []).append((piece, literal, offset))
        self._pattern: re.Pattern[AnyStr] | None = None
        branches = []
        for entries in self._pieces.values():
            head = entries[0][0][:1]
            group, bar, close = (x if isinstance(head, str) else x.encode() for x in ("(?:", "|", ")"))
            tails = sorted({piece[1:] for piece, _, _ in entries}, key=len, reverse=True)
            branches.append(re.escape(head) + group + bar.join(re.escape(t) for t in tails) + close)
        if branches:
            self._pattern = re.compile(bar.join(branches))

    def search(self, text: AnyStr, pos: int = 0, end: int | None = None) -> int | None:
        """Where the first literal inside ``text[pos:end]`` starts (or one on the same line), or None."""
        if self._pattern is None:
            return None
        end = len(text) if end is None else end
        floor = pos
        while True:
            m = self._pattern.search(text, pos, end)
            if m is None:
                return None
            at = m.start()
            # Every piece that starts here, not only the one re chose: a longer piece whose literal
            # is absent must not hide a shorter one whose literal is present.
            for piece, literal, offset in self._pieces[text[at]]:
                start = at - offset
                if start >= floor and text.startswith(piece, at) and text.startswith(literal, start, end):
                    return start
            pos = at + 1


class ReUnion:
    """The portable fallback for big inputs: a :class:`PieceSearch` sampled on the input's first 64 KiB."""

    name = "re"
    SAMPLE = 64 * 1024

    def __init__(self, literals: list[str]) -> None:
        self.literals = [x.encode("utf-8") for x in literals if x]
        self._search: PieceSearch | None = None

    def search(self, buf: bytes, pos: int, end: int) -> int | None:
        if self._search is None:
            self._search = PieceSearch(self.literals, bytes(buf[pos:min(end, pos + self.SAMPLE)]))
        return self._search.search(buf, pos, end)


class Re2Union:
    """google-re2: a DFA over the union of the literals."""

    name = "re2"

    def __init__(self, literals: list[str]) -> None:
        import re2

        options = re2.Options()
        options.max_mem = 64 << 20
        self._re2 = re2.compile(b"|".join(re.escape(x.encode("utf-8")) for x in literals if x), options)

    def search(self, buf: bytes, pos: int, end: int) -> int | None:
        m = self._re2.search(buf, pos, end)
        return m.start() if m else None


class HyperscanUnion:
    """hyperscan block-mode database of the literals; the compiled database is cached on disk."""

    name = "hyperscan"

    def __init__(self, literals: list[str]) -> None:
        import hyperscan

        self.hs = hyperscan
        self.literals = [x for x in literals if x]
        self.db = self._load_or_compile()
        self._hit: list[int] = []

    def _load_or_compile(self) -> object:
        from . import cache

        hs = self.hs
        key = zlib.crc32("\0".join(self.literals).encode("utf-8"))
        name = f"hyperscan-{getattr(hs, '__version__', '0')}-{key:08x}-{len(self.literals)}.db"
        blob = cache.read(name)
        if blob is not None:
            try:
                return hs.loadb(bytearray(blob), hs.HS_MODE_BLOCK)
            except Exception:   # a corrupt or foreign (other CPU) database: compile afresh
                pass
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        exprs = [re.escape(x.encode("utf-8")) for x in self.literals]
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=[0] * len(exprs))
        cache.write(name, hs.dumpb(db))
        return db

    def _on_match(self, _id: int, _from: int, to: int, _flags: int, _ctx: object) -> bool:
        self._hit.append(to)
        return True             # stop at the first hit: the scanner parses from there

    def search(self, buf: bytes, pos: int, end: int) -> int | None:
        self._hit.clear()
        try:  # noqa: SIM105 - ScanTerminated is the stop we asked for; this is the hot path
            self.db.scan(memoryview(buf)[pos:end], match_event_handler=self._on_match)  # type: ignore[attr-defined]
        except self.hs.ScanTerminated:
            pass
        if not self._hit:
            return None
        return pos + self._hit[0] - 1    # a byte inside the hit (hyperscan reports match ends)


_ENGINES: dict[str, Callable[[list[str]], object]] = {
    "hyperscan": HyperscanUnion, "re2": Re2Union, "re": ReUnion,
}


class Prefilter:
    """Chooses the fastest engine that loads, the first time a big input needs it."""

    def __init__(self, literals: list[str]) -> None:
        self.literals = literals
        self.engine: object | None = None
        self.note: str | None = None

    def search(self, buf: bytes, pos: int, end: int) -> int | None:
        if self.engine is None:
            self.engine = self._choose()
        return self.engine.search(buf, pos, end)  # type: ignore[attr-defined]

    def _choose(self) -> object:
        wanted = os.environ.get("HFEXPLAIN_PREFILTER", "").strip().lower()
        order = [wanted] if wanted in _ENGINES else ["hyperscan", "re2", "re"]
        for name in order:
            try:
                engine = _ENGINES[name](self.literals)
            except Exception:       # ImportError, or a library that fails to load on this CPU
                continue
            if name == "re" and wanted != "re":
                self.note = ("note: scanning a big log with Python's re (slow); "
                             "`pip install hyperscan` makes hfexplain several times faster")
            return engine
        return ReUnion(self.literals)

    @property
    def name(self) -> str:
        return getattr(self.engine, "name", "none")
