"""The pipeline of design §1: reader → redactor → splitter → matcher → incidents.

Every input mode (a pasted traceback, a file, stdin, ``--watch``, ``run --``, ``rules test``)
goes through :class:`Engine`; none has matching code of its own.
"""

from __future__ import annotations

from .events import Event
from .findings import Finding, Incidents, candidate
from .prefilter import PieceSearch, Prefilter
from .reader import Scanner, looks_binary
from .rules import Rule, load_rules, match
from .splitter import Splitter
from .triggers import all_literals, message_literals

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

OnFinding = "Callable[[Finding, bool], None]"


class Engine:
    """Analyses any number of inputs with one rule set; findings accumulate across inputs."""

    def __init__(self, rules: list[Rule] | None = None, on_finding: OnFinding | None = None) -> None:
        self.rules = rules if rules is not None else load_rules()
        self.by_kind: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for kind in rule.events:
                self.by_kind.setdefault(kind, []).append(rule)
        self.message_trigger = LiteralSet(message_literals(self.rules))
        self.trigger_bytes = Prefilter(all_literals(self.rules))
        self.incidents = Incidents()
        self.on_finding = on_finding
        self.binary_inputs: list[str] = []
        self.bytes_read = 0

    # -- inputs -----------------------------------------------------------------------------
    def open(self, name: str = "-", *, lineno: int = 1, rank: int | None = None) -> Feed:
        """An incremental input: feed bytes as they arrive (a followed file, a child's output).

        ``lineno`` numbers its first line (a file followed from its end); ``rank`` is the rank of a
        per-rank log (``rank3.log``), given to its events whose line prefix names none.
        """
        return Feed(self, name, lineno, rank)

    def scan_stream(self, stream: BinaryIO, name: str = "-", progress: Callable[[int], None] | None = None,
                    rank: int | None = None) -> None:
        feed = self.open(name, rank=rank)
        try:
            while feed.scanner.fill(stream):
                if progress is not None:
                    progress(feed.scanner.bytes_read)
        finally:
            feed.close()

    def scan_text(self, text: str | bytes, name: str = "-", rank: int | None = None) -> None:
        feed = self.open(name, rank=rank)
        feed.feed(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
        feed.close()

    def events_of(self, text: str) -> list[Event]:
        """The events a text splits into (for ``rules test`` and debugging)."""
        events: list[Event] = []
        feed = Feed(self, "-", emit=events.append)
        feed.feed(text.encode("utf-8", "surrogateescape"))
        feed.close()
        return events

    # -- matching ---------------------------------------------------------------------------
    def hits(self, event: Event) -> list:
        return [h for r in self.by_kind.get(event.kind, []) if (h := match(r, event)) is not None]

    def _event(self, event: Event) -> None:
        hits = self.hits(event)
        if not hits:
            return
        finding, new = self.incidents.add(candidate(hits))
        if self.on_finding is not None and finding is not None:     # None: past the cap on incidents
            self.on_finding(finding, new)

    def findings(self) -> list[Finding]:
        return self.incidents.ranked()


class Feed:
    """One input of an :class:`Engine`, fed incrementally; findings reach ``on_finding`` as events close."""

    def __init__(self, engine: Engine, name: str, lineno: int = 1, rank: int | None = None,
                 emit: Callable[[Event], None] | None = None) -> None:
        """``emit`` replaces the engine's matcher as the events' destination (rules test, workers)."""
        self.engine, self.name, self.rank = engine, name, rank
        sink = emit or (engine._event if rank is None else self._ranked)
        self.splitter = Splitter(sink, engine.message_trigger, name)
        self.scanner = Scanner(self.splitter, engine.trigger_bytes)
        self.scanner.lineno = lineno
        self.closed = False

    def _ranked(self, event: Event) -> None:
        event.fields.setdefault("rank", self.rank)
        self.engine._event(event)

    def feed(self, data: bytes) -> None:
        self.scanner.feed(data)

    def flush(self) -> None:
        """The input went quiet: close the events still open (a traceback followed by silence).

        A partial last line stays buffered: its writer has not finished it.
        """
        self.splitter.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.scanner.close()
        self.splitter.close()
        self.engine.bytes_read += self.scanner.bytes_read
        if looks_binary(self.scanner.head):
            self.engine.binary_inputs.append(self.name)


class LiteralSet:
    """``search(line)``: does any literal occur? A loop of ``in`` tests for the first lines (no
    compile cost for a paste), then a :class:`PieceSearch` sampled on those lines."""

    WARM_UP = 200

    def __init__(self, literals: list[str]) -> None:
        self.literals = literals
        self.seen: list[str] | None = []
        self.pieces: PieceSearch | None = None

    def search(self, line: str) -> bool:
        if self.pieces is not None:
            return self.pieces.search(line) is not None
        if self.seen is not None:
            self.seen.append(line[:1000])
            if len(self.seen) >= self.WARM_UP:
                self.pieces = PieceSearch(self.literals, "\n".join(self.seen))
                self.seen = None
        return any(lit in line for lit in self.literals)


def analyze(source: str | bytes | BinaryIO, rules: list[Rule] | None = None, name: str = "-") -> list[Finding]:
    """Explain one log: text, bytes or a binary stream in, ranked findings out."""
    engine = Engine(rules)
    if isinstance(source, (str, bytes)):
        engine.scan_text(source, name)
    else:
        engine.scan_stream(source, name)
    return engine.findings()
