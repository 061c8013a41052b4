"""``hfexplain --watch PATH…``: follow logs like ``tail -F`` and explain Hub failures as they are written.

How a change is noticed
    watchdog's native observer (inotify on Linux; FSEvents, kqueue, ReadDirectoryChangesW elsewhere)
    wakes the loop: directories are watched for files appearing, moving and disappearing, open files
    for writes — nothing else, so reading a file or listing a directory wakes nobody. Polling (a stat
    and a read per followed file every ``--poll-interval``) is used with ``--poll``, on network,
    cluster and FUSE filesystems (NFS, CIFS, Lustre, GPFS, 9p, Docker Desktop mounts…) where writes
    made by other hosts or by the VM host raise no event, and when inotify cannot be set up (watch
    or instance limits). With notifications, every path is still re-checked every :data:`SAFETY`
    seconds (a directory created later, a lost event); between events the process sleeps.

What ``tail -F`` means here, per path
    It starts at the end (``--from-start``: at the beginning; the line numbers stay those of the
    file). A file that is truncated, rewritten (its first bytes changed) or replaced (rotation:
    rename + new file, i.e. another inode) is read again from its start, after what was written to
    the old file before the rename has been read. A path that does not exist yet, or was deleted,
    is waited for. Globs are expanded again when files appear.

Every byte goes through :class:`analyzer.engine.Feed`; this module has no matching of its own.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import stat
import sys
import threading
import time

from .events import rank_of
from .live import QUIET, LiveReport, Wake

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    from .engine import Engine, Feed

HEAD = 1024                    # first bytes remembered per file: a rewrite changes them
SAFETY = 2.0                   # with notifications: re-check every path this often anyway
POLL_INTERVAL = 0.5            # --poll: seconds between checks
READ = 256 * 1024
ROUND = 8 * 1024 * 1024        # bytes read from one file before the others get their turn
TAIL_WINDOW = 64 * 1024        # starting at the end: back up to the start of an unfinished last line

# Filesystems where another host (or the VM host of a container) writes without raising inotify events.
NETWORK_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "virtiofs", "afs", "ceph", "lustre", "gpfs", "beegfs",
    "glusterfs", "ocfs2", "gfs2", "panfs", "davfs", "fakeowner", "vboxsf", "prl_fs", "vmhgfs", "wekafs",
})

def fs_type(path: str, mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """The filesystem type holding ``path`` (Linux; None where unknown)."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    real = os.path.realpath(path)
    best, kind = "", None
    for line in text.splitlines():
        parts = line.split()
        if "-" not in parts[6:]:
            continue
        sep = parts.index("-", 6)
        mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[4])
        if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
            best, kind = mount, parts[sep + 1] if len(parts) > sep + 1 else None
    return kind


def needs_polling(kind: str | None) -> bool:
    return bool(kind) and (kind in NETWORK_FS or kind == "fuse" or kind.startswith("fuse."))  # type: ignore[union-attr]


def _existing_ancestor(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def _glob_base(spec: str) -> tuple[str, bool]:
    """The directory to watch for a glob, and whether its wildcards reach below it."""
    parts = os.path.abspath(spec).split(os.sep)
    for i, part in enumerate(parts):
        if glob.has_magic(part):
            return os.sep.join(parts[:i]) or os.sep, i < len(parts) - 1
    return os.path.dirname(os.path.abspath(spec)), False


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _pread(fh: BinaryIO, offset: int, n: int) -> bytes:
    if n <= 0:
        return b""
    if hasattr(os, "pread"):
        return os.pread(fh.fileno(), n, offset)
    fh.seek(offset)                     # Windows
    return fh.read(n) or b""


def _end_position(fh: BinaryIO, size: int) -> tuple[int, int]:
    """Where following from the end starts (the start of an unfinished last line), and its line number."""
    k = min(size, TAIL_WINDOW)
    window = _pread(fh, size - k, k)
    i = window.rfind(b"\n")
    start = size - k + i + 1 if i >= 0 else (0 if size <= TAIL_WINDOW else size)
    lines, offset = 1, 0
    while offset < start:                # like `wc -l`: evidence keeps the file's own line numbers
        chunk = _pread(fh, offset, min(1 << 20, start - offset))
        if not chunk:
            break
        lines += chunk.count(b"\n")
        offset += len(chunk)
    return start, lines


class Tail:
    """One followed path."""

    def __init__(self, follower: Follower, name: str, at_end: bool) -> None:
        self.follower = follower
        self.name = name                         # as the user or the glob spelled it (evidence input)
        self.path = os.path.abspath(name)
        self.real = os.path.realpath(name)
        self.rank = rank_of(self.path)
        self.at_end = at_end
        self.file: BinaryIO | None = None
        self.ident: tuple[int, int] | None = None
        self.pos = 0
        self.head = b""
        self.seen: tuple[int, int] = (-1, -1)   # (size, mtime) when the head was last compared
        self.feed: Feed | None = None
        self.due: float | None = None            # when its open events are complete if nothing comes
        self.more = False                        # stopped reading after ROUND bytes: continue at once
        self.state = "new"                       # new | missing | open | removed | rotated | unreadable
        self.watch: object | None = None         # the native observer's watch on the open file

    def check(self) -> int:
        """Catch up with the path; returns the number of bytes read."""
        st = _stat(self.path)
        n = 0
        if self.file is not None:
            if st is None or (st.st_dev, st.st_ino) != self.ident:
                n += self._read()               # what was written before the rename or deletion
                self._release("removed" if st is None else "rotated")
            elif st.st_size < self.pos:
                self._restart("was truncated")
            elif (st.st_size, st.st_mtime_ns) != self.seen:
                self.seen = (st.st_size, st.st_mtime_ns)
                if self.head and _pread(self.file, 0, len(self.head)) != self.head:
                    self._restart("was rewritten (its first line changed)")
        if self.file is None:
            if st is None or not stat.S_ISREG(st.st_mode):
                if self.state == "new":
                    self.state, self.at_end = "missing", False    # when it appears, all of it is new
                    kind = "is not a regular file" if st is not None else "does not exist yet"
                    self.follower.note(f"{self.name} {kind}; waiting for it")
                return n
            self._open()
        if self.file is not None:
            n += self._read()
        return n

    def flush(self) -> None:
        self.due = None
        if self.feed is not None:
            self.feed.flush()

    def close(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self._read()
            self._close_file()
        self._close_feed()

    # -- internals ------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            fh = open(self.path, "rb", buffering=0)  # noqa: SIM115 - kept open while followed
            st = os.fstat(fh.fileno())
        except OSError as exc:
            if self.state != "unreadable":
                self.follower.note(f"cannot read {self.name}: {exc.strerror or exc}; waiting")
            self.state = "unreadable"
            return
        self.file, self.ident = fh, (st.st_dev, st.st_ino)
        self.real = os.path.realpath(self.path)     # a symlink (latest.log) may point elsewhere now
        self.pos, lineno = _end_position(fh, st.st_size) if self.at_end else (0, 1)
        self.head = _pread(fh, 0, min(HEAD, self.pos))
        self.feed = self.follower.engine.open(self.name, lineno=lineno, rank=self.rank)
        if self.state in ("missing", "removed", "unreadable"):
            self.follower.note(f"{self.name} appeared; following it from its start")
        self.state, self.at_end = "open", False
        self.follower.watch_file(self)

    def _read(self) -> int:
        assert self.file is not None and self.feed is not None
        total = 0
        while total < ROUND and not self.follower.report.done:
            data = _pread(self.file, self.pos, READ)
            if not data:
                break
            if len(self.head) < HEAD and self.pos == len(self.head):
                self.head += data[: HEAD - self.pos]
            self.pos += len(data)
            total += len(data)
            self.feed.feed(data)
        self.more = total >= ROUND
        if total:
            self.due = time.monotonic() + self.follower.quiet
        return total

    def _restart(self, why: str) -> None:
        self._close_feed()
        assert self.file is not None
        self.pos, self.head = 0, b""
        self.feed = self.follower.engine.open(self.name, rank=self.rank)
        self.follower.note(f"{self.name} {why}; reading it from its start")

    def _release(self, why: str) -> None:
        self._close_feed()
        self._close_file()
        self.state, self.at_end = why, False     # whatever appears at this path now is new: read it whole
        if why == "removed":
            self.follower.note(f"{self.name} was removed; waiting for it to come back")
        else:
            self.follower.note(f"{self.name} was replaced (rotated); following the new file from its start")

    def _close_file(self) -> None:
        self.follower.unwatch_file(self)
        if self.file is not None:
            self.file.close()
        self.file, self.ident = None, None

    def _close_feed(self) -> None:
        self.due = None
        if self.feed is not None:
            feed, self.feed = self.feed, None
            feed.close()


class Follower:
    """Follows paths and globs; all reading and matching happen on the calling thread."""

    def __init__(self, specs: list[str], engine: Engine, report: LiveReport, *, from_start: bool = False,
                 poll: bool = False, interval: float = POLL_INTERVAL, quiet: float = QUIET,
                 note: Callable[[str], None] | None = None) -> None:
        self.specs = list(specs)
        self.engine, self.report = engine, report
        self.from_start, self.poll, self.interval, self.quiet = from_start, poll, interval, quiet
        self.note = note or _note
        self.tails: dict[str, Tail] = {}
        self.wake = Wake()
        self.lock = threading.Lock()
        self.dirty: set[str] = set()
        self.rescan = False
        self.observer: object | None = None
        self.handler: object | None = None
        self.dir_watches: dict[str, tuple[object, tuple[int, int]]] = {}
        self.backend = "polling"
        self.why_polling = "--poll" if poll else ""
        self.stopping = False
        self.next_tick = 0.0

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._expand(initial=True)
        if not self.poll:
            self._start_native()
        for tail in list(self.tails.values()):
            tail.check()
        self.next_tick = time.monotonic() + self._tick()
        where = "its start" if self.from_start else "its end"
        how = self.backend if not self.poll else f"polling every {self.interval:g}s" + (
            f": {self.why_polling}" if self.why_polling else "")
        self.note(f"following {', '.join(self.specs)} from {where} ({how}); Ctrl-C stops with a summary")
        self.report.emit_due()

    def run(self) -> None:
        import select

        while not self.stopping and not self.report.done:
            ready, _, _ = select.select([self.wake], [], [], self._timeout())
            if ready:
                self.wake.drain()
            self.step()

    def stop(self) -> None:
        """Safe from a signal handler: ask the loop to end."""
        self.stopping = True
        self.wake.set()

    def close(self) -> None:
        """Read what is left, complete every open event, stop watching."""
        for tail in self.tails.values():
            tail.close()
        if self.observer is not None:
            observer, self.observer = self.observer, None
            with contextlib.suppress(Exception):    # shutting down
                observer.stop()                     # type: ignore[attr-defined]
                observer.join(timeout=5)            # type: ignore[attr-defined]
        self.wake.close()
        self.report.emit_due(everything=True)

    def names(self) -> list[str]:
        return [t.name for t in self.tails.values()] or list(self.specs)

    # -- one turn of the loop -------------------------------------------------------------
    def step(self) -> None:
        now = time.monotonic()
        with self.lock:
            dirty, self.dirty = self.dirty, set()
            rescan, self.rescan = self.rescan, False
        tick = now >= self.next_tick
        if tick:
            self.next_tick = now + self._tick()
            if self.observer is not None:
                self._ensure_watches()
        if tick or rescan:
            self._expand(initial=False)
        for tail in list(self.tails.values()):
            if self.report.done:
                return
            if tick or tail.more or tail.state == "new" or tail.path in dirty or tail.real in dirty:
                tail.check()
            if tail.due is not None and time.monotonic() >= tail.due and tail.check() == 0:
                tail.flush()            # quiet: a traceback followed by silence is complete
        self.report.emit_due()

    def _tick(self) -> float:
        return self.interval if self.poll else SAFETY

    def _timeout(self) -> float:
        if any(t.more for t in self.tails.values()):
            return 0.0
        deadlines = [self.next_tick, *(t.due for t in self.tails.values() if t.due is not None)]
        due = self.report.next_due()
        if due is not None:
            deadlines.append(due)
        return max(0.0, min(deadlines) - time.monotonic())

    def _expand(self, initial: bool) -> None:
        at_end = initial and not self.from_start
        for spec in self.specs:
            if not glob.has_magic(spec):
                if os.path.abspath(spec) not in self.tails:
                    self.tails[os.path.abspath(spec)] = Tail(self, spec, at_end)
                continue
            matched = False
            for path in sorted(glob.glob(spec, recursive=True)):
                if not os.path.isfile(path):
                    continue
                matched = True
                if os.path.abspath(path) not in self.tails:
                    self.tails[os.path.abspath(path)] = Tail(self, path, at_end)
                    if not initial:
                        self.note(f"following {path} (new file)")
            if initial and not matched:
                self.note(f"no file matches {spec} yet; waiting for one")

    # -- notifications ----------------------------------------------------------------------
    def _start_native(self) -> None:
        for d in self._wanted_dirs():
            kind = fs_type(_existing_ancestor(d))
            if needs_polling(kind):
                self._fallback(f"{_existing_ancestor(d)} is on {kind}, where file events may never come")
                return
        try:
            from watchdog.observers import Observer

            self.observer = Observer()
            self.handler = _handler(self)
            self._ensure_watches(raise_errors=True)
            self.observer.start()               # type: ignore[attr-defined]
        except Exception as exc:                # any failure means: poll
            self._fallback(f"file notifications unavailable ({type(exc).__name__}: {exc})")
            return
        name = type(self.observer).__name__.replace("Observer", "").lower()
        self.backend = {"inotify": "inotify", "fsevents": "FSEvents", "kqueue": "kqueue",
                        "windowsapi": "ReadDirectoryChangesW"}.get(name, name or "native")

    def _fallback(self, why: str) -> None:
        if self.observer is not None:
            with contextlib.suppress(Exception):
                self.observer.stop()            # type: ignore[attr-defined]
            self.observer = None
            for tail in self.tails.values():
                tail.watch = None
            if self.backend != "polling":       # switching while running: say so
                self.note(f"polling every {self.interval:g}s from now on: {why}")
        self.poll, self.why_polling, self.backend = True, why, "polling"
        self.dir_watches.clear()

    def _wanted_dirs(self) -> dict[str, bool]:
        wanted: dict[str, bool] = {}
        for spec in self.specs:
            base, recursive = _glob_base(spec) if glob.has_magic(spec) else (os.path.dirname(os.path.abspath(spec)),
                                                                             False)
            wanted[base] = wanted.get(base, False) or recursive
        return wanted

    def _ensure_watches(self, raise_errors: bool = False) -> None:
        """(Re)schedule the directory watches: a directory may appear, or be deleted and re-created."""
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileMovedEvent,
        )

        events = [FileCreatedEvent, FileDeletedEvent, FileMovedEvent, DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
        observer = self.observer
        for d, recursive in self._wanted_dirs().items():
            st = _stat(d)
            ident = (st.st_dev, st.st_ino) if st is not None and stat.S_ISDIR(st.st_mode) else None
            old = self.dir_watches.get(d)
            if old is not None and old[1] == ident:
                continue
            if old is not None:
                self._unschedule(old[0])
                del self.dir_watches[d]
            if ident is None:
                continue
            try:
                watch = observer.schedule(self.handler, d, recursive=recursive, event_filter=events)  # type: ignore
            except OSError as exc:
                if raise_errors:
                    raise
                self._fallback(f"cannot watch {d} ({exc.strerror or exc})")
                return
            self.dir_watches[d] = (watch, ident)

    def watch_file(self, tail: Tail) -> None:
        if self.observer is None:
            return
        from watchdog.events import FileClosedEvent, FileModifiedEvent

        try:
            tail.watch = self.observer.schedule(  # type: ignore[attr-defined]
                self.handler, tail.real, event_filter=[FileModifiedEvent, FileClosedEvent])
        except OSError as exc:
            self._fallback(f"cannot watch {tail.name} ({exc.strerror or exc})")

    def unwatch_file(self, tail: Tail) -> None:
        if tail.watch is not None and self.observer is not None:
            self._unschedule(tail.watch)
        tail.watch = None

    def _unschedule(self, watch: object) -> None:
        with contextlib.suppress(Exception):    # already gone with its directory
            self.observer.unschedule(watch)     # type: ignore[attr-defined]

    def notify(self, event: object) -> None:
        """Called on the observer's thread: remember what changed and wake the loop."""
        paths = {os.fsdecode(event.src_path)}  # type: ignore[attr-defined]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.add(os.fsdecode(dest))
        with self.lock:
            self.dirty |= paths
            if event.event_type in ("created", "deleted", "moved"):  # type: ignore[attr-defined]
                self.rescan = True
        self.wake.set()


def _handler(follower: Follower) -> object:
    from watchdog.events import FileSystemEventHandler

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: object) -> None:  # type: ignore[override]
            follower.notify(event)

    return Handler()


def _note(msg: str) -> None:
    sys.stderr.write(f"hfexplain: {msg}\n")
    sys.stderr.flush()


class _StopOnSignals:
    """SIGINT, SIGTERM, SIGHUP end the loop cleanly (a second Ctrl-C interrupts at once)."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self.stop, self.saved = stop, {}
        self.stopping = False

    def __enter__(self) -> _StopOnSignals:
        import signal

        if threading.current_thread() is not threading.main_thread():
            return self
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None:
                self.saved[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        import signal

        if self.stopping and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.stopping = True
        self.stop()

    def __exit__(self, *exc: object) -> None:
        import signal

        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def main(paths: list[str], *, fmt: str = "text", color: bool | None = None, rules_dirs: list[str] | None = None,
         from_start: bool = False, poll: bool = False, interval: float = POLL_INTERVAL,
         exit_on_finding: bool = False) -> int:
    """``hfexplain --watch``: 0 nothing found, 1 findings (also after --exit-on-finding), 2 usage error."""
    from .cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, _err, _use_color, load_rules_or_report, report_notes

    for p in paths:
        if p == "-":
            _err("error: --watch follows files; a pipe is already read as it is written (drop --watch)")
            return EXIT_ERROR
        if os.path.isdir(p):
            _err(f"error: {p} is a directory; give log files (e.g. {p.rstrip('/')}/*.log)")
            return EXIT_ERROR
    if not paths:
        _err("error: --watch needs a file to follow (e.g. hfexplain --watch job.log)")
        return EXIT_ERROR
    if interval <= 0:
        _err("error: --poll-interval must be a positive number of seconds")
        return EXIT_ERROR
    ruleset = load_rules_or_report(rules_dirs)
    if ruleset is None:
        return EXIT_ERROR
    several = len(paths) > 1 or any(glob.has_magic(p) for p in paths)
    report = LiveReport(fmt, _use_color(color, sys.stdout), sys.stdout, gather=QUIET if several else 0.0,
                        exit_on_finding=exit_on_finding)
    engine = report.engine(ruleset.rules)    # per-rank logs of one job: one incident, ranks listed
    follower = Follower(list(paths), engine, report, from_start=from_start, poll=poll, interval=interval)
    with _StopOnSignals(follower.stop):
        try:
            follower.start()
            follower.run()
        finally:
            follower.close()
        report_notes(engine)
        findings = engine.findings()
        report.finish(follower.names(), findings, verb="watched")
    return EXIT_FINDINGS if findings else EXIT_OK
