"""Hostile inputs for tests/test_hostile.py and benchmarks/hostile.py, generated as byte chunks.

Every case is a generator of chunks (never one giant string), so a 50 MB line costs the
generator ~1 MB of memory; :func:`write` streams a case into a file. The gated-repo traceback
appended to most cases checks that hfexplain still finds the real failure after the garbage.
"""

from __future__ import annotations

import random

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

MB = 1024 * 1024

GATED = (
    b"Traceback (most recent call last):\n"
    b'  File "/srv/app/serve.py", line 12, in <module>\n'
    b'    cfg = hf_hub_download("google/gemma-7b", "config.json")\n'
    b"huggingface_hub.errors.GatedRepoError: 403 Client Error. "
    b"(Request ID: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7)\n"
    b"\n"
    b"Cannot access gated repo for url https://huggingface.co/google/gemma-7b/resolve/main/config.json.\n"
    b"Access to model google/gemma-7b is restricted and you are not in the authorized list. "
    b"Visit https://huggingface.co/google/gemma-7b to ask for access.\n"
)
GATED_CAUSE = "gated-not-accepted"

# Byte sequences that are not UTF-8: lone continuation bytes, truncated and overlong sequences,
# surrogates, code points past U+10FFFF.
INVALID_UTF8 = [b"\xff", b"\xfe", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xe2\x82", b"\xf0\x28\x8c\xbc",
                b"\xf0\x90\x28\xbc", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"]
# Terminal garbage: colours, cursor moves, OSC titles (BEL- and ST-terminated), unterminated
# sequences, C0 controls and DEL.
ANSI = [b"\x1b[31m", b"\x1b[0m", b"\x1b[2K", b"\x1b[1;32;48;5;12m", b"\x1b]0;title\x07", b"\x1b]8;;http://x\x1b\\",
        b"\x1b[", b"\x1b]", b"\x1b", b"\x1b[?25l", b"\x07", b"\x08", b"\x0b", b"\x0c", b"\x7f", b"\x01\x02\x03",
        b"\x1b[999999999999999999C", b"\x9b31m"]
# Literals that open events or match rules (a mix of structural markers and rule literals).
TRIGGERS = [b"Traceback (most recent call last):", b"Error: ", b"Exception: ", b"HTTP/1.1\" 401 ",
            b"(authenticated: False)", b"remote: ", b"fatal: ", b"401 Client Error", b"GatedRepoError",
            b"is restricted and you are not in the authorized list", b"Invalid user token", b"ValueError: "]


def _sized(piece: Callable[[int], bytes], total: int) -> Iterator[bytes]:
    """Chunks of about 1 MB from ``piece(i)`` until ``total`` bytes."""
    done, i, buf = 0, 0, []
    size = 0
    while done + size < total:
        p = piece(i)
        buf.append(p)
        size += len(p)
        i += 1
        if size >= MB:
            yield b"".join(buf)
            done += size
            buf, size = [], 0
    if buf:
        yield b"".join(buf)


def random_bytes(total: int, seed: int = 1) -> Iterator[bytes]:
    rnd = random.Random(seed)
    for _ in range(total // MB):
        yield rnd.randbytes(MB)
    yield rnd.randbytes(total % MB)
    yield b"\n" + GATED


def invalid_utf8(total: int, seed: int = 2) -> Iterator[bytes]:
    rnd = random.Random(seed)

    def piece(i: int) -> bytes:
        bad = b"".join(rnd.choice(INVALID_UTF8) for _ in range(rnd.randrange(1, 20)))
        return rnd.choice(TRIGGERS) + bad + b" x" + bad + b"\n"
    yield from _sized(piece, total)
    yield GATED.replace(b"gemma-7b is", b"gemma-7b\xff\xfe is")


def nuls(total: int, seed: int = 3) -> Iterator[bytes]:
    rnd = random.Random(seed)

    def piece(i: int) -> bytes:
        return b"\x00" * rnd.randrange(0, 64) + rnd.choice(TRIGGERS) + b"\x00value\x00" + b"\x00" * 8 + b"\n"
    yield from _sized(piece, total)
    yield GATED.replace(b"Client Error.", b"Client\x00 Error.")


def one_long_line(total: int, seed: int = 4, every: int = 0) -> Iterator[bytes]:
    """A ``total``-byte line (no newline), then a normal traceback.

    ``every``: 0 puts triggers all along the line; else one trigger per ``every`` bytes or so."""
    rnd = random.Random(seed)
    plain = [b"loss", b"step", b"0.125", b"https://huggingface.co/x/y", b"token=", b"Bearer"]
    words = plain if every else [*plain, *TRIGGERS]

    def piece(i: int) -> bytes:
        if every and i % (every // 40) == 0:
            return rnd.choice(TRIGGERS) + b" "
        return b" ".join(rnd.choice(words) for _ in range(8)) + b" "
    yield from _sized(piece, total)
    yield b"\n" + GATED


def no_newline(total: int, seed: int = 5) -> Iterator[bytes]:
    """No line ending at all, with triggers and a gated message inside."""
    rnd = random.Random(seed)

    def piece(i: int) -> bytes:
        if i % 5000 == 0:
            return GATED.replace(b"\n", b" ")
        return rnd.choice(TRIGGERS) + b" some text " * rnd.randrange(1, 8)
    yield from _sized(piece, total)


def chained(count: int = 10_000) -> Iterator[bytes]:
    """``count`` exceptions chained with both chain separators, the Hub error last."""
    def piece(i: int) -> bytes:
        sep = (b"The above exception was the direct cause of the following exception:" if i % 2 else
               b"During handling of the above exception, another exception occurred:")
        return (b"Traceback (most recent call last):\n"
                b'  File "/srv/app/m%d.py", line %d, in f%d\n    g%d()\n'
                b"OSError: failure number %d\n\n%s\n\n" % (i, i, i, i, i, sep))
    buf = []
    for i in range(count):
        buf.append(piece(i))
        if len(buf) >= 2000:
            yield b"".join(buf)
            buf = []
    yield b"".join(buf)
    yield GATED


def deep_traceback(frames: int = 200_000) -> Iterator[bytes]:
    yield b"Traceback (most recent call last):\n"
    buf = []
    for i in range(frames):
        buf.append(b'  File "/srv/app/recurse.py", line %d, in f\n    return f(n - 1)\n' % (i % 900 + 1))
        if len(buf) >= 10_000:
            yield b"".join(buf)
            buf = []
    yield b"".join(buf)
    yield b"  [Previous line repeated 996 more times]\n"
    yield GATED.split(b"\n", 3)[3]   # the exception lines of the gated error, same traceback


def ansi_garbage(total: int, seed: int = 6) -> Iterator[bytes]:
    rnd = random.Random(seed)

    def piece(i: int) -> bytes:
        parts = [rnd.choice(ANSI) for _ in range(rnd.randrange(1, 10))]
        parts.insert(rnd.randrange(len(parts) + 1), rnd.choice(TRIGGERS))
        return b"".join(parts) + b"\n"
    yield from _sized(piece, total)
    yield b"".join(b"\x1b[31m" + line + b"\x1b[0m\n" for line in GATED.splitlines())


def cr_only(total: int, seed: int = 7) -> Iterator[bytes]:
    """Old-Mac line endings: tqdm bars and a whole traceback separated by lone ``\\r``."""
    rnd = random.Random(seed)

    def piece(i: int) -> bytes:
        pct = i % 100
        return b"Downloading: %3d%%|%s| %d/100 [00:0%d<00:00]\r" % (pct, b"#" * (pct // 10), pct, rnd.randrange(9))
    yield from _sized(piece, total)
    yield GATED.replace(b"\n", b"\r")


def redos_lines(total: int) -> Iterator[bytes]:
    """Lines built to make backtracking regexes explode: near-misses of the redactor's and the
    splitter's patterns, each next to a trigger so the reader parses it."""
    lines = [
        b"Error: Authorization:" + b" " * 16_000 + b"'\n",
        b"Error: " + b"eyJ" * 5_000 + b"\n",
        b"Error: bearer" + b" " * 16_000 + b"!\n",
        b"Error: cookie:" + b" " * 16_000 + b"'\n",
        b"Error: token='" + b"-" * 16_000 + b"\n",
        b"Error: http://" + b"a" * 8_000 + b":" + b"b" * 8_000 + b"\n",
        b"Error: " + b"machine " * 2_000 + b"\n",
        b"Error: " + b"?token=" * 2_000 + b"\n",
        b"HTTP Request: GET https://" + b"a" * 16_000 + b"\n",
        b"Error: " + b"a." * 8_000 + b"\n",
        b"a" * 80 + (b"." + b"a" * 80) * 150 + b"Error\n",
        b'  File "' + b"x" * 16_000 + b"\n",
        b"Error: Repo id must " + b"x" * 16_000 + b"\n",
        b"Error: " + b"https://huggingface.co/" * 700 + b"\n",
        b"Error: " + b"(Request ID: " * 1_200 + b"\n",
    ]

    def piece(i: int) -> bytes:
        return lines[i % len(lines)]
    yield from _sized(piece, total)
    yield GATED


def many_prefixes(count: int = 100_000) -> Iterator[bytes]:
    """Tracebacks opened under ``count`` distinct line prefixes (letters: digits would make them one
    prefix pattern), none of them ever continued, so hundreds stay open at once."""
    buf = []
    for i in range(count):
        name = "".join(chr(97 + int(d)) for d in str(i)).encode()
        buf.append(b"[worker-%s]: Traceback (most recent call last):\n" % name)
        if len(buf) >= 5000:
            yield b"".join(buf)
            buf = []
    yield b"".join(buf)
    yield GATED


def long_prefixes(count: int = 300) -> Iterator[bytes]:
    """Traceback headers after 16 KB of text with many digit runs (each becomes a prefix pattern)."""
    rnd = random.Random(8)
    for i in range(count):
        prefix = b"".join(b"%d-" % rnd.randrange(10**6) for _ in range(2000))[:15_000]
        yield prefix + b"Traceback (most recent call last):\n" + prefix + b"ValueError: %d\n" % i
    yield GATED


def http_flood(count: int = 100_000) -> Iterator[bytes]:
    """``count`` failing requests, each for a different repo (a crawler's log)."""
    yield from _batched(b'DEBUG:urllib3.connectionpool:https://huggingface.co:443 "GET /api/models/org%d/model-%d/'
                        b'revision/main HTTP/1.1" 401 0\n' % (i, i) for i in range(count))
    yield GATED


def exception_flood(count: int = 100_000) -> Iterator[bytes]:
    """``count`` one-line exceptions, each a separate event naming a different gated repo."""
    yield from _batched(b"huggingface_hub.errors.GatedRepoError: 403 Client Error. Access to model org%d/m-%d is "
                        b"restricted and you are not in the authorized list.\n" % (i, i) for i in range(count))


def _batched(lines: Iterator[bytes], size: int = 5000) -> Iterator[bytes]:
    """Lines joined ``size`` at a time: few big writes, never the whole case in memory."""
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield b"".join(batch)
            batch = []
    yield b"".join(batch)


def write(path: Path, chunks: Iterator[bytes]) -> int:
    """Stream a case into a file; returns its size."""
    n = 0
    with open(path, "wb") as fh:
        for c in chunks:
            fh.write(c)
            n += len(c)
    return n




def fat_events(count: int = 200) -> Iterator[bytes]:
    """``count`` gated errors for distinct repos, each with 40 message lines of 16 KB."""
    filler = b"Access to model is restricted and you are not in the authorized list. " * 220 + b"\n"
    for i in range(count):
        yield (b"huggingface_hub.errors.GatedRepoError: 403 Client Error. Access to model org%d/m-%d is "
               b"restricted and you are not in the authorized list.\n" % (i, i)) + filler * 39 + b"\n\n\n"
    yield GATED


def fat_findings(repos: int = 1100, repeats: int = 2, rows: int = 60) -> Iterator[bytes]:
    """``repos`` distinct gated failures, each ``repeats`` times (interleaved), each a traceback of
    ``rows`` frame lines of ~400 characters: more incidents than are kept, each with fat events."""
    pad = "x" * 380
    for _ in range(repeats):
        for r in range(repos):
            repo = f"acme/model-{r:04d}"
            frames = "".join(f'  File "/srv/app/module_{i}_{pad}.py", line {i}, in f{i}\n    call_{i}({pad!r})\n'
                             for i in range(rows // 2))
            yield (f"Traceback (most recent call last):\n{frames}"
                   "huggingface_hub.errors.GatedRepoError: 403 Client Error. "
                   "(Request ID: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7)\n\n"
                   f"Cannot access gated repo for url https://huggingface.co/{repo}/resolve/main/config.json.\n"
                   f"Access to model {repo} is restricted and you are not in the authorized list. "
                   f"Visit https://huggingface.co/{repo} to ask for access.\n").encode()
    yield GATED


# name -> (generator of the full-size case, what it exercises). Sizes are the benchmark's; the
# tests call the generators with smaller sizes where the property does not depend on size.
CASES: dict[str, tuple[Callable[[], Iterator[bytes]], str]] = {
    "random-bytes-20MB": (lambda: random_bytes(20 * MB), "20 MB of random bytes, then a gated traceback"),
    "invalid-utf8-20MB": (lambda: invalid_utf8(20 * MB), "trigger lines full of invalid UTF-8"),
    "nul-20MB": (lambda: nuls(20 * MB), "NUL runs around trigger literals"),
    "line-50MB": (lambda: one_long_line(50 * MB), "one 50 MB line, triggers all along, then a traceback"),
    "line-50MB-sparse": (lambda: one_long_line(50 * MB, every=4 * MB), "one 50 MB line, a trigger every 4 MB"),
    "no-newline-20MB": (lambda: no_newline(20 * MB), "20 MB without a single line ending"),
    "chain-10k": (lambda: chained(10_000), "10 000 chained exceptions ending in GatedRepoError"),
    "frames-200k": (lambda: deep_traceback(200_000), "a 200 000-frame traceback ending in GatedRepoError"),
    "ansi-20MB": (lambda: ansi_garbage(20 * MB), "ANSI escapes, OSC, unterminated sequences, C0 controls"),
    "cr-only-20MB": (lambda: cr_only(20 * MB), "\\r-only line endings (tqdm), traceback with \\r endings"),
    "redos-lines-8MB": (lambda: redos_lines(8 * MB), "near-misses of every backtracking-prone pattern"),
    "many-prefixes-100k": (lambda: many_prefixes(100_000), "100 000 tracebacks under distinct line prefixes"),
    "long-prefixes-300": (lambda: long_prefixes(300), "traceback headers after 15 KB prefixes of digit runs"),
    "http-flood-100k": (lambda: http_flood(100_000), "100 000 failing requests for distinct repos"),
    "exception-flood-100k": (lambda: exception_flood(100_000), "100 000 one-line gated errors, distinct repos"),
    "fat-events-200": (lambda: fat_events(200), "200 errors with 40 message lines of 16 KB each"),
    "fat-findings-1100": (lambda: fat_findings(1100, 2), "1100 repos failing twice, 60 rows of 400 chars each"),
}


# A small launcher between the measuring process and hfexplain: Linux keeps a process's peak RSS
# across fork and exec, so a child forked straight from a big test process would report the
# test's size. The launcher (python -S, a few MB) forks, execs the command and reports the
# command's own peak RSS from wait4.
_LAUNCHER = r"""
import os, sys
out, cmd = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as fh:
    fh.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def measure(cmd: list[str], *, stdin: object, stdout: object, stderr: object, env: dict[str, str] | None = None,
            timeout: float = 600) -> tuple[int | None, float, float]:
    """Run ``cmd``: (exit code or None when killed at ``timeout``, its peak RSS in MB, wall seconds)."""
    import os
    import subprocess
    import sys
    import tempfile
    import time

    fd, report = tempfile.mkstemp(prefix="hfx-rss-")
    os.close(fd)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, report, *cmd], stdin=stdin, stdout=stdout,
                            stderr=stderr, env=env, start_new_session=True)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        os.unlink(report)
        return None, 0.0, time.perf_counter() - start
    wall = time.perf_counter() - start
    with open(report) as fh:
        code, rss = fh.read().split()
    os.unlink(report)
    return int(code), int(rss) / 1024, wall
