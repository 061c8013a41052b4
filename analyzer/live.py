"""Inputs that are still being written: a pipe, a followed file (``--watch``), a child's output (``run``).

Two things every live mode shares:

- **the quiet period**: a traceback ends with its last line, but nothing says so until the next line
  comes — which, when a job has just died, is never. After :data:`QUIET` seconds of silence the open
  events of an input are closed (:meth:`analyzer.engine.Feed.flush`), so the finding is printed then,
  not at EOF or when the job happens to print again;
- **the live report** (:class:`LiveReport`): each finding printed once, as soon as it is final, with a
  timestamp; later repeats of the same incident are counted, not reprinted; a summary at the end.

Matching is the engine's alone: this module only decides *when* to read, flush and print.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

from .render.textout import ranks_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO

    from .engine import Engine, Feed
    from .findings import Finding

QUIET = 0.15        # seconds of silence after which an input's open events are complete
HTTP_WAIT = 0.5     # a bare HTTP failure waits this long for the traceback that usually follows it
CHUNK = 256 * 1024


def pump(fd: int, feed: Feed, on_quiet: Callable[[], None] | None = None, quiet: float = QUIET) -> None:
    """Read a pipe or terminal until EOF, feeding bytes as they arrive.

    While it is silent for ``quiet`` seconds after some data, the open events are closed and
    ``on_quiet`` is called. Blocks without a timeout while nothing is pending (no polling).
    Closes ``feed`` at EOF.
    """
    import selectors

    sel = selectors.DefaultSelector()
    try:
        sel.register(fd, selectors.EVENT_READ)
    except (OSError, ValueError):       # /dev/null, a regular file, a Windows pipe: no readiness to wait on
        sel.close()
        while data := os.read(fd, CHUNK):
            feed.feed(data)
        feed.close()
        return
    try:
        pending = False
        while True:
            if not sel.select(quiet if pending else None):
                feed.flush()
                if on_quiet is not None:
                    on_quiet()
                pending = False
                continue
            data = os.read(fd, CHUNK)
            if not data:
                break
            feed.feed(data)
            pending = True
    finally:
        sel.close()
    feed.close()


def _stamp(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


class LiveReport:
    """Prints findings of live inputs: once each, when final, with a timestamp.

    ``on_finding`` is the engine's callback: it only queues. :meth:`emit_due` prints what is due;
    the caller's loop calls it and sleeps until :meth:`next_due`. A finding waits ``gather`` seconds
    before it is printed (several per-rank logs: the other ranks' copies of one incident merge into
    it first), a bare HTTP failure :data:`HTTP_WAIT` (the traceback that usually follows says more).
    """

    def __init__(self, fmt: str, color: bool, out: IO[str], *, err: IO[str] | None = None, gather: float = 0.0,
                 exit_on_finding: bool = False) -> None:
        self.fmt, self.color, self.out = fmt, color, out
        self.err = err if err is not None else sys.stderr
        self.gather = gather
        self.exit_on_finding = exit_on_finding
        self.pending: list[tuple[float, Finding]] = []
        self.shown: dict[int, Finding] = {}          # id -> finding (kept alive so ids stay unique)
        self.first_seen: dict[int, float] = {}
        self.current: Callable[[], list[Finding]] | None = None   # the engine's incidents, to skip replaced ones
        self.before_write: Callable[[], None] | None = None       # `run`: start on a fresh line
        self.started = time.time()
        self.done = False            # --exit-on-finding: the first finding was reported

    def engine(self, rules: list) -> Engine:
        """The engine of a live mode: findings come here, and one incident spans all its inputs."""
        from .engine import Engine

        engine = Engine(rules, on_finding=self.on_finding)
        engine.incidents.across_inputs = True
        self.current = lambda: engine.incidents.findings
        return engine

    # -- the engine's callback --------------------------------------------------------------
    def on_finding(self, finding: Finding, new: bool) -> None:
        if id(finding) in self.shown or any(f is finding for _, f in self.pending):
            return               # a repeat of a reported incident: its count has grown, nothing to print
        wait = max(self.gather, HTTP_WAIT) if finding.kind == "http" else self.gather
        self.pending.append((time.monotonic() + wait, finding))
        self.first_seen[id(finding)] = time.time()

    # -- the caller's loop --------------------------------------------------------------------
    def next_due(self) -> float | None:
        return min((due for due, _ in self.pending), default=None)

    def emit_due(self, now: float | None = None, everything: bool = False) -> None:
        """Print the queued findings whose time has come (all of them at the end)."""
        if not self.pending:
            return
        now = time.monotonic() if now is None else now
        current = self.current() if self.current is not None else None
        keep: list[tuple[float, Finding]] = []
        for due, f in self.pending:
            if self.done:
                break
            if not everything and due > now:
                keep.append((due, f))
            elif current is None or any(c is f for c in current):   # else merged into a better finding
                self._emit(f)
        self.pending = keep

    # -- output -------------------------------------------------------------------------------
    def _emit(self, f: Finding) -> None:
        self.shown[id(f)] = f
        seen = self.first_seen.get(id(f), time.time())
        if self.fmt in ("text", "jsonl"):
            if self.before_write is not None:
                self.before_write()
            if self.fmt == "jsonl":
                import json

                doc = f.to_dict()
                doc["seen_at"] = _iso(seen)
                self.out.write(json.dumps(doc, ensure_ascii=False) + "\n")
            else:
                from .render import textout

                ev = f.evidence
                where = ev.get("input", "-") + (f" (+{len(ev['inputs']) - 1} more)" if len(ev.get("inputs", [])) > 1
                                                else "")
                lines = [("dim", f"── {_stamp(seen)} · {where} ──"), *textout.finding_lines(f), ("", "")]
                (textout.rich if self.color else textout.plain)(lines, self.out)
            self.out.flush()
        if self.exit_on_finding:
            self.done = True

    def finish(self, inputs: list[str], findings: list[Finding], *, verb: str = "watched",
               quiet_if_none: bool = False) -> None:
        """The end (Ctrl-C, --exit-on-finding, the command's exit): the document or a summary."""
        if self.fmt in ("json", "markdown"):
            from .render import jsonout, markdown

            doc = jsonout.dumps(inputs, findings) if self.fmt == "json" else markdown.document(inputs, findings)
            self.out.write(doc)
            self.out.flush()
            return
        if quiet_if_none and not findings:
            return
        lines = self.summary_lines(inputs, findings, verb)
        target = self.out if self.fmt == "text" else self.err       # jsonl: stdout stays one finding per line
        if self.before_write is not None and target is self.out:
            self.before_write()
        if self.fmt == "text" and self.color:
            from .render import textout

            textout.rich([("dim", line) for line in lines], target)
        else:
            target.write("".join(line + "\n" for line in lines))
        target.flush()

    def summary_lines(self, inputs: list[str], findings: list[Finding], verb: str) -> list[str]:
        n = len(findings)
        what = f"{n} finding{'s' if n != 1 else ''}" if n else "no Hugging Face Hub access problem"
        names = ", ".join(inputs[:4]) + (f" and {len(inputs) - 4} more" if len(inputs) > 4 else "")
        lines = [f"hfexplain: {verb} {names or 'nothing'} for {_duration(time.time() - self.started)}: {what}"]
        for f in findings:
            facts = [f.cause]
            if f.repo_id:
                facts.append(f.repo_id)
            facts.append(f"seen {f.count} time{'s' if f.count != 1 else ''}")
            if f.evidence.get("ranks"):
                facts.append("ranks " + ranks_text(f.evidence["ranks"]))
            if id(f) in self.first_seen:
                facts.append("first at " + _stamp(self.first_seen[id(f)]))
            lines.append("  " + " · ".join(facts))
        return lines


class Wake:
    """A self-pipe (a socket pair, so ``select`` works on every OS): other threads and signal
    handlers wake the main loop without any polling."""

    def __init__(self) -> None:
        import socket

        self.r, self.w = socket.socketpair()
        self.r.setblocking(False)
        self.w.setblocking(False)

    def fileno(self) -> int:
        return self.r.fileno()

    def set(self) -> None:
        with contextlib.suppress(OSError):      # full (already awake) or closed
            self.w.send(b"x")

    def drain(self) -> None:
        try:
            while self.r.recv(4096):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.r.close()
        self.w.close()
