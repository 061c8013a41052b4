"""The pipeline of design §1: reader → redactor → splitter → matcher → incidents.

Every input mode (a pasted traceback, a file, stdin, ``--watch``, ``run --``, ``rules test``)
goes through :class:`Engine`; none has matching code of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import BinaryIO

from .events import Event
from .findings import Finding, Incidents, candidate
from .reader import Scanner, looks_binary, read_chunks
from .rules import Rule, load_rules, match
from .splitter import TB_HEADER, Splitter

# Lines that may open an event whatever the rules say (the splitter decides precisely).
STRUCTURAL_TRIGGERS = (
    TB_HEADER, "Error:", "Exception:", "Error (", "Traceback (most recent",
    'HTTP/1.1" 4', 'HTTP/1.0" 4', 'HTTP/2" 4', 'HTTP/2.0" 4',
    "HTTP/1.1 4", "HTTP/1.0 4", "HTTP/2 4", "HTTP/2.0 4",
    "(authenticated: ", "remote: ", "fatal: ", "batch response: ", "[remote rejected]",
    "error: failed to push", "Failed to fetch some objects",
)

OnFinding = Callable[[Finding, bool], None]


class Engine:
    """Analyses any number of inputs with one rule set; findings accumulate across inputs."""

    def __init__(self, rules: list[Rule] | None = None, on_finding: OnFinding | None = None) -> None:
        self.rules = rules if rules is not None else load_rules()
        self.by_kind: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for kind in rule.events:
                self.by_kind.setdefault(kind, []).append(rule)
        literals = sorted({lit for r in self.by_kind.get("message", []) for lit in r.literals}, key=len)
        self.message_trigger = _union(literals)
        self.trigger_bytes = _union_bytes([*STRUCTURAL_TRIGGERS, *literals])
        self.incidents = Incidents()
        self.on_finding = on_finding
        self.binary_inputs: list[str] = []
        self.bytes_read = 0

    # -- inputs -----------------------------------------------------------------------------
    def open(self, name: str = "-") -> Feed:
        """An incremental input: feed bytes as they arrive (a followed file, a child's output)."""
        return Feed(self, name)

    def scan_stream(self, stream: BinaryIO, name: str = "-") -> None:
        feed = self.open(name)
        try:
            for chunk in read_chunks(stream):
                feed.feed(chunk)
        finally:
            feed.close()

    def scan_text(self, text: str | bytes, name: str = "-") -> None:
        feed = self.open(name)
        feed.feed(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
        feed.close()

    def events_of(self, text: str) -> list[Event]:
        """The events a text splits into (for ``rules test`` and debugging)."""
        events: list[Event] = []
        splitter = Splitter(events.append, self.message_trigger)
        scanner = Scanner(splitter, self.trigger_bytes)
        scanner.feed(text.encode("utf-8", "surrogateescape"))
        scanner.close()
        splitter.close()
        return events

    # -- matching ---------------------------------------------------------------------------
    def hits(self, event: Event) -> list:
        return [h for r in self.by_kind.get(event.kind, []) if (h := match(r, event)) is not None]

    def _event(self, event: Event) -> None:
        hits = self.hits(event)
        if not hits:
            return
        finding, new = self.incidents.add(candidate(hits))
        if self.on_finding is not None:
            self.on_finding(finding, new)

    def findings(self) -> list[Finding]:
        return self.incidents.ranked()


class Feed:
    """One input of an :class:`Engine`, fed incrementally; findings reach ``on_finding`` as events close."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.name = engine, name
        self.splitter = Splitter(engine._event, engine.message_trigger, name)
        self.scanner = Scanner(self.splitter, engine.trigger_bytes)
        self.closed = False

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


def _union(literals: Iterable[str]) -> re.Pattern[str] | None:
    lits = [re.escape(x) for x in literals if x]
    return re.compile("|".join(sorted(set(lits), key=len, reverse=True))) if lits else None


def _union_bytes(literals: Iterable[str]) -> re.Pattern[bytes]:
    lits = sorted({re.escape(x.encode("utf-8")) for x in literals if x}, key=len, reverse=True)
    return re.compile(b"|".join(lits))


def analyze(source: str | bytes | BinaryIO, rules: list[Rule] | None = None, name: str = "-") -> list[Finding]:
    """Explain one log: text, bytes or a binary stream in, ranked findings out."""
    engine = Engine(rules)
    if isinstance(source, (str, bytes)):
        engine.scan_text(source, name)
    else:
        engine.scan_stream(source, name)
    return engine.findings()
