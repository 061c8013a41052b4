"""Streaming reader: bytes in, numbered clean lines out, only around trigger hits.

The reader never holds more than one chunk plus a bounded context tail, whatever the input
size or line length. Chunks in which no trigger occurs (and no event is open) are skipped
after counting their newlines, so the per-line Python work is paid only near Hub failures.

Logical lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (progress bars); line numbers count
``\\n`` only, as an editor shows them. A line longer than :data:`MAX_LINE` is cut into pieces
that share its number.
"""

from __future__ import annotations

import re

from .lazyre import compile_lazily
from .redact import CONTEXT, redact, redact_cut, redact_piece
from .triggers import SMALL_INPUT
from .triggers import looks_binary as looks_binary

CHUNK = 1024 * 1024           # read size: 256 KiB–1 MiB keeps per-chunk Python overhead low
MAX_LINE = 16 * 1024          # characters of one logical line handed on; longer lines are cut
CONTEXT_LINES = 24            # lines before a hit that are parsed too (curl/http.client requests)
CONTEXT_BYTES = 16 * 1024     # ... but never more bytes than this

_ANSI = compile_lazily(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EOL = re.compile(rb"\r\n|\r|\n")


TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from typing import BinaryIO, Protocol

    class LineSink(Protocol):
        """What the reader feeds: the event splitter."""

        @property
        def idle(self) -> bool: ...

        def feed(self, lineno: int, text: str) -> None: ...

    class Trigger(Protocol):
        """A multi-literal search over bytes: any object with ``search(buf, pos, end)``."""

        def search(self, buf: bytes, pos: int, end: int) -> int | None: ...


def plain(raw: bytes) -> str:
    """Decode one line leniently, drop colour codes and control characters.

    Secrets are masked before escape sequences are removed too: a sequence may swallow the
    first letter of ``Cookie:`` (``ESC [ SP C`` is one), and what follows must not show.
    """
    text = raw.decode("utf-8", "replace")
    if "\x1b" in text:
        text = _ANSI.sub("", redact(text))
    return _CONTROL.sub("", text)


def clean(raw: bytes, *, cut: bool = False) -> str:
    """Decode one line leniently, drop colour codes and control characters, redact secrets."""
    text = plain(raw)
    return redact_cut(text) if cut else redact(text)


class Scanner:
    """Feeds a :class:`LineSink` with the lines around trigger hits of a byte stream."""

    def __init__(self, sink: LineSink, trigger: Trigger | None) -> None:
        self.sink = sink
        self.trigger = trigger
        # One preallocated buffer reused for every chunk: data is copied in after the unconsumed
        # tail (allocating a fresh MiB per chunk page-faulted its way to half the run time).
        self.buf = bytearray(CHUNK + 4 * MAX_LINE + CONTEXT_BYTES)
        self.n = 0            # bytes of buf that hold data
        self.pos = 0          # offset in buf of the first byte not yet consumed (a line start)
        self.lineno = 1       # line number at self.pos
        self.bytes_read = 0
        self.head = b""       # first bytes, for binary detection
        self.before = ""      # unredacted text of the piece just fed, while its line goes on (a cut)
        self.closing = False

    # -- public -------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if not data:
            return
        self._reserve(len(data))
        memoryview(self.buf)[self.n:self.n + len(data)] = data
        self._took(len(data))

    def fill(self, stream: BinaryIO, size: int = CHUNK) -> int:
        """Read up to ``size`` bytes of ``stream`` straight into the buffer and scan them; the
        number read (0 at the end). No intermediate bytes object: a gigabyte is copied once, not twice.
        ``readinto1`` where the stream has it: like ``read1``, a pipe's data is taken as it arrives.
        (A stream with neither, e.g. one of the API's callers, is read with ``read``.)"""
        readinto = getattr(stream, "readinto1", None) or getattr(stream, "readinto", None)
        if readinto is None:
            data = stream.read(size)
            self.feed(data)
            return len(data)
        self._reserve(size)
        got = readinto(memoryview(self.buf)[self.n:self.n + size]) or 0
        if got:
            self._took(got)
        return got

    def _reserve(self, size: int) -> None:
        need = self.n + size
        if need > len(self.buf):
            self.buf.extend(bytes(need - len(self.buf)))

    def _took(self, size: int) -> None:
        """``size`` new bytes are in the buffer after ``self.n``: scan the complete lines."""
        if len(self.head) < 8192:
            self.head += bytes(self.buf[self.n:self.n + min(size, 8192 - len(self.head))])
        self.bytes_read += size
        self.n += size
        end = self._complete_end()
        self._process(end)
        self._trim()

    def close(self) -> None:
        """Consume whatever is left (a last line without newline)."""
        self.closing = True
        self._process(self.n, final=True)
        self.n = self.pos = 0
        self.before = ""

    # -- internals ----------------------------------------------------------------------
    def _complete_end(self) -> int:
        """Offset just past the last complete line in buf (a held-back lone ``\\r`` excluded)."""
        buf, n = self.buf, self.n
        nl = buf.rfind(b"\n", self.pos, n)
        cr = buf.rfind(b"\r", self.pos, n)
        if cr == n - 1:                 # may be the first half of \r\n: wait for the next byte
            cr = buf.rfind(b"\r", self.pos, n - 1)
        end = max(nl, cr) + 1
        if end == 0 or end <= self.pos:
            end = self.pos
        if n - end > MAX_LINE * 4:      # an endless line: cut it so memory stays bounded
            end = n
        return end

    def _process(self, end: int, final: bool = False) -> None:
        buf = self.buf
        # A small input is parsed whole: compiling the prefilter would cost more than it saves.
        trigger = self.trigger if self.bytes_read > SMALL_INPUT else None
        while self.pos < end:
            if not self.sink.idle or trigger is None:
                self._feed_line(end)
                continue
            hit = trigger.search(buf, self.pos, end)      # an offset inside a trigger, or None
            if hit is None:
                # Skip, but leave the last few lines unconsumed: they are the context of a hit
                # that may come at the start of the next chunk.
                keep = end if final else self._context_start(end)
                if keep != self.pos:
                    self.before = ""
                self.lineno += buf.count(b"\n", self.pos, keep)
                self.pos = keep
                return
            start = self._context_start(hit)
            if start != self.pos:
                self.before = ""
            self.lineno += buf.count(b"\n", self.pos, start)
            self.pos = start
            # Feed from the context start through the hit line, then on while an event is open.
            hit_line_end = self._line_end(hit, end)
            while self.pos < hit_line_end:
                self._feed_line(end)

    def _context_start(self, hit: int) -> int:
        """Start of the line ``CONTEXT_LINES`` lines before the hit, not before self.pos."""
        buf, floor = self.buf, max(self.pos, hit - CONTEXT_BYTES)
        start = hit
        for _ in range(CONTEXT_LINES + 1):
            nl = max(buf.rfind(b"\n", floor, start), buf.rfind(b"\r", floor, start))
            if nl < 0:
                return floor if floor == self.pos else self._next_line_start(floor)
            start = nl
        return start + 1

    def _next_line_start(self, offset: int) -> int:
        m = _EOL.search(self.buf, offset, self.n)
        return m.end() if m else offset

    def _line_end(self, offset: int, end: int) -> int:
        m = _EOL.search(self.buf, offset, end)
        return m.end() if m else end

    def _feed_line(self, end: int) -> None:
        buf, pos = self.buf, self.pos
        m = _EOL.search(buf, pos, min(end, pos + MAX_LINE + 2))
        if m is not None and m.start() - pos <= MAX_LINE:
            raw, nxt, newline = buf[pos:m.start()], m.end(), m.group() != b"\r"
            cut = False
        elif end - pos <= MAX_LINE:       # the last line of the input, without newline
            raw, nxt, newline, cut = buf[pos:end], end, False, not self.closing
        else:
            nxt = _safe_cut(buf, pos, min(end, pos + MAX_LINE))
            raw, newline, cut = buf[pos:nxt], False, True
        if cut or self.before:        # a piece of a long line: a secret may straddle the cut
            text = plain(raw)
            self.sink.feed(self.lineno, redact_piece(text, self.before, cut))
            self.before = text[-CONTEXT:] if cut else ""
        else:
            self.sink.feed(self.lineno, clean(raw))
        self.pos = nxt
        if newline:
            self.lineno += 1

    def _trim(self) -> None:
        """Move the unconsumed tail to the front of the buffer (a small memmove, no allocation)."""
        if self.pos:
            keep = self.n - self.pos
            self.buf[0:keep] = self.buf[self.pos:self.n]
            self.n, self.pos = keep, 0


_NON_WORD = re.compile(rb"[^A-Za-z0-9_-]")


def _safe_cut(buf: bytes, pos: int, stop: int) -> int:
    """Where to cut an over-long line: never inside a word, so no token is split in two.

    A run of word characters longer than 512 bytes is no credential; it may be cut anywhere.
    """
    window = buf[max(pos + 1, stop - 512):stop]
    m = _NON_WORD.search(window[::-1])
    return stop - m.start() if m else stop
