"""Trigger literals: the strings a line must contain to be worth parsing.

They come from two places: the structural markers of events (a traceback header, an HTTP
status line, git's prefixes) and the literal clauses of the rules that match printed
messages — so a new rule can never escape the prefilter. This module stays import-light:
the command line uses it to dismiss an input with no trigger before loading the engine.
"""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from collections.abc import Iterable

    from .rules import Rule

TB_HEADER = "Traceback (most recent call last):"
SMALL_INPUT = 64 * 1024       # inputs up to this size are read whole, and parsed without prefilter

# Lines that may open an event whatever the rules say (the splitter decides precisely).
STRUCTURAL = (
    TB_HEADER, "Error:", "Exception:", "Error (", "Traceback (most recent",
    'HTTP/1.1" 4', 'HTTP/1.0" 4', 'HTTP/2" 4', 'HTTP/2.0" 4',
    "HTTP/1.1 4", "HTTP/1.0 4", "HTTP/2 4", "HTTP/2.0 4",
    "(authenticated: ", "remote: ", "fatal: ", "batch response: ", "[remote rejected]",
    "error: failed to push", "Failed to fetch some objects",
    "Timeout:", "Interrupt", "Enabled:", "Group:",
    "HTTP/1.1', 4", "HTTP/2', 4",           # httpcore's DEBUG response lines
)


def message_literals(rules: Iterable[Rule]) -> list[str]:
    """Literals of the rules that can match a printed message (they start message events).

    A rule that names exception classes never matches a message (messages have none), so its
    literals would only make the reader parse more lines for nothing.
    """
    out = {lit for r in rules if "message" in r.events and not _needs_exception(r) for lit in r.literals if lit}
    return sorted(out, key=_by_length)


def _needs_exception(rule: Rule) -> bool:
    return "exception" in rule.match or "exception_last" in rule.match


def all_literals(rules: Iterable[Rule]) -> list[str]:
    return sorted({*STRUCTURAL, *message_literals(rules)}, key=_by_length)


def any_in(data: bytes, literals: Iterable[str]) -> bool:
    """Whether any trigger occurs in data (one C-speed ``find`` per literal)."""
    return any(lit.encode("utf-8") in data for lit in literals)


def looks_binary(head: bytes) -> bool:
    """Like grep and git: a NUL byte early on, or mostly non-text bytes, means binary."""
    if not head:
        return False
    sample = head[:8192]
    if b"\x00" in sample:
        return True
    try:
        sample.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4:   # a character cut at the sample's end
            return False
    bad = sum(1 for b in sample if b < 9 or 13 < b < 32 or b == 127)
    return bad > len(sample) // 10


def _by_length(literal: str) -> tuple[int, str]:
    """Shortest first, then alphabetical: the same order in every process (a set's is not), so the
    prefilter's compiled database is found in the cache under the same key."""
    return len(literal), literal
