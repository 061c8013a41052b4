"""Following a running job: how fast a failure is reported, and what a quiet log costs.

    python benchmarks/follow_latency.py [--appends 100] [--idle 60] [--repeats 2000]

Runs the installed ``hfexplain`` (a real process, as a user runs it) and measures:

1. **latency** — from a failure being appended to ``job.log`` (one ``write``, nothing after it, as when
   a job dies) to its finding arriving on ``hfexplain --watch --format jsonl``'s stdout; p50/p95/max
   over ``--appends`` appends, each a different repo (one new finding each), 50–200 ms apart. With
   inotify and with ``--poll`` (0.5 s interval), and through a plain pipe for comparison. The floor is
   the quiet period (``analyzer.live.QUIET``): a traceback is complete only once the log goes silent.
2. **idle CPU** — CPU seconds (user + system, from ``/proc/PID/stat``) the watcher uses while the log
   stays quiet for ``--idle`` seconds, with inotify and with polling.
3. **memory** — the watcher's RSS before and after ``--repeats`` repeats of one failure (counted, not
   reprinted: the count grows, the memory must not).

Linux (``/proc``) for the CPU and memory figures; the latency runs anywhere. Not a test: numbers
depend on the machine. Copy the table it prints into README.md ("Following a running job").
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/train.py", line 12, in <module>\n'
    '    cfg = hf_hub_download("{repo}", "config.json")\n'
    '  File "/srv/app/.venv/lib/python3.11/site-packages/huggingface_hub/utils/_http.py", line 426, in '
    "hf_raise_for_status\n"
    "    raise _format(GatedRepoError, message, response) from e\n"
    "huggingface_hub.errors.GatedRepoError: 403 Client Error. (Request ID: "
    "Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7;11111111-2222-4333-8444-555555555555)\n"
    "\n"
    "Cannot access gated repo for url https://huggingface.co/{repo}/resolve/main/config.json.\n"
    "Access to model {repo} is restricted and you are not in the authorized list. "
    "Visit https://huggingface.co/{repo} to ask for access.\n"
)
FILLER = "step 1200 loss=0.4312 lr=3e-4 tokens/s=10412\n"


def hfx() -> list[str]:
    exe = shutil.which("hfexplain")
    return [exe] if exe else [sys.executable, "-m", "analyzer.cli"]


class Proc:
    def __init__(self, args: list[str], stdin: int | None = None) -> None:
        self.p = subprocess.Popen([*hfx(), *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env={**os.environ, "NO_COLOR": "1"})
        self.out = b""
        self.err = b""

    def read_until(self, needle: bytes, stream: str = "out", timeout: float = 30.0) -> float:
        """Block until ``needle`` arrives; returns the perf_counter time it did."""
        fd = (self.p.stdout if stream == "out" else self.p.stderr).fileno()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while needle not in (self.out if stream == "out" else self.err):
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"timed out waiting for {needle!r}; stderr: {self.err.decode()[-2000:]}")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise SystemExit(f"hfexplain exited; stderr: {self.err.decode()[-2000:]}")
                if stream == "out":
                    self.out += chunk
                else:
                    self.err += chunk
        return time.perf_counter()

    def cpu_seconds(self) -> float | None:
        try:
            fields = Path(f"/proc/{self.p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return None

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(2)
        try:
            out, err = self.p.communicate(timeout=30)
            self.out, self.err = self.out + out, self.err + err
        except subprocess.TimeoutExpired:
            self.p.kill()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def latency_watch(tmp: Path, n: int, poll: bool) -> tuple[list[float], Proc]:
    log = tmp / ("poll.log" if poll else "job.log")
    log.write_text(FILLER * 1000)
    p = Proc(["--watch", "--format", "jsonl", *(["--poll"] if poll else []), str(log)])
    p.read_until(b"Ctrl-C stops", "err")
    out: list[float] = []
    with open(log, "a", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(FILLER * random.randint(0, 20))
            fh.flush()
            time.sleep(random.uniform(0.05, 0.2))
            repo = f"acme/model-{'poll' if poll else 'inotify'}-{i}"
            data = TEMPLATE.format(repo=repo)
            t0 = time.perf_counter()
            fh.write(data)
            fh.flush()                           # one write(); nothing follows it
            t1 = p.read_until(f'"repo_id": "{repo}"'.encode())
            out.append(t1 - t0)
    return out, p


def latency_pipe(n: int) -> list[float]:
    p = Proc(["--format", "jsonl"], stdin=subprocess.PIPE)
    out: list[float] = []
    assert p.p.stdin is not None
    for i in range(n):
        time.sleep(random.uniform(0.05, 0.2))
        repo = f"acme/model-pipe-{i}"
        t0 = time.perf_counter()
        p.p.stdin.write(TEMPLATE.format(repo=repo).encode())
        p.p.stdin.flush()
        out.append(p.read_until(f'"repo_id": "{repo}"'.encode()) - t0)
    p.p.communicate(timeout=30)          # closes stdin: EOF
    return out


def idle_cpu(p: Proc, seconds: float) -> float | None:
    before = p.cpu_seconds()
    time.sleep(seconds)
    after = p.cpu_seconds()
    return None if before is None or after is None else after - before


def memory(tmp: Path, repeats: int) -> tuple[int | None, int | None, float]:
    log = tmp / "repeats.log"
    log.write_text("")
    p = Proc(["--watch", "--format", "jsonl", str(log)])
    p.read_until(b"Ctrl-C stops", "err")
    block = TEMPLATE.format(repo="acme/retried")
    with open(log, "a", encoding="utf-8") as fh:
        def burst(k: int) -> None:
            for i in range(k):
                fh.write(f"attempt {i}: retrying in 5 s\n" + block)
                fh.flush()
                if i % 50 == 0:
                    time.sleep(0.2)              # let quiet periods happen: events close one by one
        burst(200)
        time.sleep(1.0)
        first = p.rss_kib()
        t0 = time.perf_counter()
        burst(repeats)
        fh.write("marker\n")
        fh.flush()
    time.sleep(2.0)
    last = p.rss_kib()
    elapsed = time.perf_counter() - t0
    p.stop()
    printed = len(p.out.splitlines())           # one JSON finding per line
    if printed != 1:
        print(f"warning: {printed} lines printed for one repeated incident", file=sys.stderr)
    return first, last, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--appends", type=int, default=100)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=2000)
    args = ap.parse_args()
    random.seed(1)
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for poll in (False, True):
            lat, p = latency_watch(tmp, args.appends, poll)
            cpu = idle_cpu(p, args.idle)
            p.stop()
            mode = "--watch --poll (0.5 s)" if poll else "--watch (inotify)"
            cpu_txt = "n/a" if cpu is None else f"{cpu:.2f} s ({cpu / args.idle * 100:.2f} % of a core)"
            rows.append(f"| {mode} | {pct(lat, .5) * 1000:.0f} ms | {pct(lat, .95) * 1000:.0f} ms | "
                        f"{max(lat) * 1000:.0f} ms | {cpu_txt} |")
        lat = latency_pipe(args.appends)
        rows.append(f"| pipe (`… 2>&1 \\| hfexplain`) | {pct(lat, .5) * 1000:.0f} ms | {pct(lat, .95) * 1000:.0f} ms | "
                    f"{max(lat) * 1000:.0f} ms | – |")
        first, last, elapsed = memory(tmp, args.repeats)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"latency over {args.appends} appends; idle CPU over {args.idle:g} s\n")
    print("| mode | p50 | p95 | max | idle CPU |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    if first is not None and last is not None:
        print(f"\nmemory: RSS {first / 1024:.1f} MiB after 200 repeats of one failure, {last / 1024:.1f} MiB after "
              f"{args.repeats} more ({elapsed:.1f} s), one finding printed")


if __name__ == "__main__":
    main()
