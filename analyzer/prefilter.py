"""The chunk prefilter: where in a buffer does the next trigger literal occur?

Big inputs are scanned in 256 KiB chunks by one compiled multi-literal matcher, and only the
lines around its hits are decoded and parsed. Engines, best first: hyperscan (SIMD literal
matching, ~2× grep), google-re2 (a DFA, ~grep speed), then Python's ``re`` (correct everywhere,
~0.1× grep). ``HFEXPLAIN_PREFILTER=hyperscan|re2|re`` forces one. The literals come from the
rules (:mod:`analyzer.triggers`), so a new rule cannot escape the prefilter.
"""

from __future__ import annotations

import os
import re
import zlib

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from collections.abc import Callable


class ReUnion:
    """The portable fallback: one ``re`` alternation, compiled on first use."""

    name = "re"

    def __init__(self, literals: list[str]) -> None:
        self.literals = literals
        self._pattern: re.Pattern[bytes] | None = None

    def search(self, buf: bytes, pos: int, end: int) -> int | None:
        if self._pattern is None:
            lits = sorted({re.escape(x.encode("utf-8")) for x in self.literals if x}, key=len, reverse=True)
            self._pattern = re.compile(b"|".join(lits))
        m = self._pattern.search(buf, pos, end)
        return m.start() if m else None


class Re2Union(ReUnion):
    name = "re2"

    def __init__(self, literals: list[str]) -> None:
        import re2

        super().__init__(literals)
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
        hs = self.hs
        key = zlib.crc32("\0".join(self.literals).encode("utf-8"))
        version = getattr(hs, "__version__", "0")
        from .rules import cache_dir

        folder = cache_dir()
        path = os.path.join(folder, f"hyperscan-{version}-{key:08x}-{len(self.literals)}.db") if folder else None
        if path and os.path.exists(path):
            try:
                with open(path, "rb") as fh:
                    return hs.loadb(bytearray(fh.read()), hs.HS_MODE_BLOCK)
            except Exception:   # a corrupt or foreign (other CPU) database: compile afresh
                pass
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        exprs = [re.escape(x.encode("utf-8")) for x in self.literals]
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=[0] * len(exprs))
        if path:
            try:
                os.makedirs(folder, exist_ok=True)  # type: ignore[arg-type]
                tmp = f"{path}.{os.getpid()}.tmp"
                with open(tmp, "wb") as fh:
                    fh.write(hs.dumpb(db))
                os.replace(tmp, path)
            except OSError:
                pass
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
