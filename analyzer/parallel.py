"""Scanning one big file on several cores.

The file is cut at line boundaries into one region per worker. Each forked child — and the
parent, on the last region — runs the same reader and splitter on its region (continuing past
its end until the event it is in has closed) and returns the events, numbered from its
region's first line; the parent renumbers them, drops the ones a previous worker already read
past its boundary, and matches them in order — so the findings are exactly those of a
sequential scan. Matching stays in the parent: there is still one matcher. (Plain ``fork`` and
a pipe per child: ``multiprocessing`` costs more to import and start than it would save.)
"""

from __future__ import annotations

import os
import sys

from .engine import Feed
from .reader import CHUNK

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .engine import Engine
    from .events import Event

MIN_SIZE = 32 << 20           # below this, forking costs more than a second core saves (measured)
OVERRUN_LIMIT = 8 << 20       # how far past its region a worker follows an open event


def workers_for(size: int) -> int:
    """How many processes a file of this size should be scanned with (1 = sequential).

    HFEXPLAIN_NO_PARALLEL=1 turns this off; HFEXPLAIN_PARALLEL_MIN_BYTES moves the threshold.
    """
    try:
        threshold = int(os.environ.get("HFEXPLAIN_PARALLEL_MIN_BYTES") or MIN_SIZE)
    except ValueError:
        threshold = MIN_SIZE
    if size < threshold or not sys.platform.startswith("linux") or os.environ.get("HFEXPLAIN_NO_PARALLEL"):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def boundaries(path: str, size: int, parts: int) -> list[int]:
    """Byte offsets that cut the file into ``parts`` regions, each starting at a line start."""
    cuts = [0]
    with open(path, "rb") as fh:
        for i in range(1, parts):
            fh.seek(size * i // parts)
            while (part := fh.readline(CHUNK)) and not part.endswith(b"\n"):
                pass                        # a line of gigabytes is skipped a chunk at a time
            cuts.append(max(fh.tell(), cuts[-1]))
    cuts.append(size)
    return cuts


def _scan_region(engine: Engine, path: str, start: int, end: int, tick: Callable[[int, int], None] | None = None
                 ) -> tuple[list[Event], int, int]:
    """(events numbered from the region's first line, lines in the region, lines it read past it).

    ``tick`` is told the bytes read and the failures seen (events a rule matches) after each chunk.
    """
    events: list[Event] = []
    failures = [0]

    def emit(event: Event) -> None:
        events.append(event)
        if tick is not None and engine.hits(event):
            failures[0] += 1

    feed = Feed(engine, "", emit=emit)
    splitter, scanner = feed.splitter, feed.scanner
    scanner.bytes_read = 1 << 30         # a region is big: use the prefilter from the first byte
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start
        while left > 0:
            got = scanner.fill(fh, min(CHUNK, left))
            if not got:
                break
            left -= got
            if tick is not None:
                tick(end - start - left, failures[0])
        region_lines = scanner.lineno - 1 + scanner.buf.count(b"\n", scanner.pos, scanner.n)
        extra = 0
        while not splitter.idle and extra < OVERRUN_LIMIT:     # finish the event at the boundary
            data = fh.read(CHUNK) + fh.readline(CHUNK)        # whole lines (up to a chunk more)
            if not data:
                break
            extra += len(data)
            scanner.feed(data)
    feed.close()
    # Every line this worker read past its region is covered: the next worker drops its events there.
    read_past = max(0, scanner.lineno - 1 - region_lines) if extra else 0
    return events, region_lines, read_past


def scan_file(engine: Engine, path: str, name: str, size: int, parts: int,
              progress: Callable[[int], None] | None = None, rank: int | None = None) -> None:
    """Scan one big regular file in ``parts`` regions: forked children take all but the last,
    which the parent scans meanwhile; then the parent matches every event, in file order."""
    import mmap

    cuts = boundaries(path, size, parts)
    board = mmap.mmap(-1, 16 * parts)        # per region: bytes read, failures seen; shared with the children
    children = [_fork_region(engine, path, cuts[i], cuts[i + 1], board if progress else None, i)
                for i in range(parts - 1)]

    def tick(n: int, failures: int) -> None:
        _post(board, parts - 1, n, failures)
        read, seen = (sum(col) for col in zip(*(_read(board, i) for i in range(parts))))
        progress(min(size, read), seen)  # type: ignore[misc]

    results = []
    try:
        own = _scan_region(engine, path, cuts[-2], cuts[-1], tick if progress else None)
        for i, (pid, fd) in enumerate(children):
            results.append(_collect(engine, path, cuts[i], cuts[i + 1], pid, fd))
    except BaseException:                    # Ctrl-C, an error: no child goes on scanning for nobody
        for pid, _ in children[len(results):]:
            _stop(pid)
        raise
    results.append(own)
    board.close()
    offset, covered = 0, 0
    for events, region_lines, overrun in results:
        for ev in events:
            if ev.first_line <= covered:       # the previous worker read this event already
                continue
            _renumber(ev, offset)
            ev.input = name
            if rank is not None:
                ev.fields.setdefault("rank", rank)
            engine._event(ev)
        offset += region_lines
        covered = overrun
    with open(path, "rb") as fh:
        from .triggers import looks_binary

        if looks_binary(fh.read(8192)):
            engine.binary_inputs.append(name)
    engine.bytes_read += size


def _collect(engine: Engine, path: str, start: int, end: int, pid: int, fd: int) -> tuple[list[Event], int, int]:
    """A child's result; a child that died (the OOM killer, a signal) has its region scanned here."""
    import pickle

    with os.fdopen(fd, "rb") as pipe:
        blob = pipe.read()
    _, status = os.waitpid(pid, 0)
    try:
        if status != 0:
            raise ValueError(f"worker exit status {status}")
        return pickle.loads(blob)  # type: ignore[no-any-return]
    except Exception:
        return _scan_region(engine, path, start, end)


def _stop(pid: int) -> None:
    """Kill and reap a child (its pipe closes with this process, which is on its way out)."""
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:          # already gone and reaped
        pass


def _post(board: Any, index: int, done: int, failures: int) -> None:
    board[16 * index:16 * index + 16] = done.to_bytes(8, "little") + failures.to_bytes(8, "little")


def _read(board: Any, index: int) -> tuple[int, int]:
    raw = board[16 * index:16 * index + 16]
    return int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")


def _fork_region(engine: Engine, path: str, start: int, end: int, board: Any, index: int) -> tuple[int, int]:
    """A child that scans one region and writes its result, pickled, to a pipe: (pid, read end).

    With a ``board`` (a progress bar is shown) it posts its bytes read and failures seen there."""
    import pickle

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    code = 1
    try:                                     # the child: never returns into the caller's code
        os.close(read_end)

        def tick(n: int, failures: int) -> None:
            _post(board, index, n, failures)

        result = _scan_region(engine, path, start, end, tick if board is not None else None)
        blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(blob)
        code = 0
    finally:
        os._exit(code)


def _renumber(ev: Event, offset: int) -> None:
    if not offset:
        return
    ev.rows = [(n + offset, t) for n, t in ev.rows]
    for exc in ev.exceptions:
        exc.lineno += offset
