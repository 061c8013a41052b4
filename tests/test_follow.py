"""Following a running job: ``--watch`` on real files (rename rotation, truncation, rewrite, late creation,
deletion, globs of per-rank logs, polling) and a plain pipe that goes quiet after a traceback.

Every test waits for a condition with a generous deadline (:data:`DEADLINE`), never for a fixed time.
"""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from conftest import gated_traceback, hfx_command

from analyzer import follow
from analyzer.engine import Engine
from analyzer.events import rank_of
from analyzer.live import LiveReport
from analyzer.render.textout import ranks_text

DEADLINE = 20.0
pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and /proc are POSIX")


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


class Hfx:
    """hfexplain as a real subprocess; its stdout and stderr collected by reader threads."""

    def __init__(self, *args: str, stdin: int | None = None) -> None:
        env = {**os.environ, "NO_COLOR": "1"}
        self.proc = subprocess.Popen([*hfx_command(), *args], stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.out, self.err = bytearray(), bytearray()
        self.threads = [threading.Thread(target=self._collect, args=(s, b), daemon=True)
                        for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    @staticmethod
    def _collect(stream: io.BufferedReader, buf: bytearray) -> None:
        while chunk := os.read(stream.fileno(), 65536):
            buf += chunk

    def wait(self, cond, what: str = "") -> None:
        deadline = time.monotonic() + DEADLINE
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\nstdout: {bytes(self.out)!r}\n"
                                     f"stderr: {bytes(self.err)!r}")
            if self.proc.poll() is not None and not cond():
                time.sleep(0.2)           # let the reader threads catch up, then check once more
                if cond():
                    return
                raise AssertionError(f"hfexplain exited ({self.proc.returncode}) before {what}\n"
                                     f"stdout: {bytes(self.out)!r}\nstderr: {bytes(self.err)!r}")
            time.sleep(0.02)

    def wait_out(self, needle: bytes, count: int = 1) -> None:
        self.wait(lambda: bytes(self.out).count(needle) >= count, f"{needle!r} x{count} on stdout")

    def wait_err(self, needle: bytes) -> None:
        self.wait(lambda: needle in bytes(self.err), f"{needle!r} on stderr")

    def ready(self) -> Hfx:
        self.wait_err(b"Ctrl-C stops")       # printed once every followed file is open and watched
        return self

    def stop(self, sig: int | None = signal.SIGINT) -> int:
        """Send ``sig`` (None: let it end by itself) and return the exit code."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=DEADLINE)
        for t in self.threads:
            t.join(timeout=DEADLINE)
        assert b"Traceback (most recent call last)" not in self.err, self.err.decode()
        return rc

    def jsonl(self) -> list[dict]:
        return [json.loads(line) for line in bytes(self.out).decode().splitlines() if line.strip()]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=DEADLINE)


@pytest.fixture
def hfx():
    started: list[Hfx] = []

    def start(*args: str, **kw) -> Hfx:
        h = Hfx(*args, **kw)
        started.append(h)
        return h

    yield start
    for h in started:
        h.kill()


def test_starts_at_end_and_reports_an_appended_failure_during_the_silence_after_it(tmp_path, hfx, token):
    log = tmp_path / "job.log"
    log.write_bytes(b"epoch 0\n" + gated_traceback("acme/old") + b"epoch 1 loss=0.4\n")
    w = hfx("--watch", "--format", "jsonl", str(log)).ready()
    append(log, gated_traceback("acme/new", token))      # and then nothing: the job is stuck or dead
    w.wait_out(b'"cause": "gated-not-accepted"')
    assert w.proc.poll() is None, "reported while the job is still running"
    (found,) = w.jsonl()
    ev = found["evidence"]
    assert ev["repo_id"] == "acme/new", "what the file held before --watch started is not re-reported"
    assert ev["input"] == str(log) and ev["lines"][0] == 17, "line numbers are the file's own"
    assert found["seen_at"].endswith("Z") and found["seen_at"][:2] == "20"
    assert w.stop() == 1
    assert token.encode() not in w.out + w.err
    assert b"hfexplain: watched" in w.err and b"1 finding" in w.err, "Ctrl-C ends with a summary"


def test_from_start_reads_what_is_already_there(tmp_path, hfx):
    log = tmp_path / "job.log"
    log.write_bytes(b"epoch 0\n" + gated_traceback("acme/old") + b"epoch 1\n")
    w = hfx("--watch", "--from-start", str(log)).ready()
    w.wait_out(b"error: gated-not-accepted")
    assert b"acme/old" in w.out and b"job.log:7-10" in w.out
    assert w.stop() == 1
    text = w.out.decode()
    assert text.count("error: gated-not-accepted") == 1
    assert "hfexplain: watched" in text and "acme/old · seen 1 time" in text


def test_repeats_are_counted_not_reprinted(tmp_path, hfx):
    log = tmp_path / "job.log"
    log.touch()
    w = hfx("--watch", "--format", "jsonl", str(log)).ready()
    append(log, gated_traceback("acme/gated"))
    w.wait_out(b"acme/gated")
    for i in range(3):
        append(log, f"retrying in {i} s\n".encode() + gated_traceback("acme/gated"))
    append(log, b"giving up\n")
    assert w.stop() == 1
    assert len(w.jsonl()) == 1, "one incident is printed once"
    assert b"acme/gated \xc2\xb7 seen 4 times" in w.err


def test_rotation_by_rename_and_new_file(tmp_path, hfx):
    log = tmp_path / "job.log"
    log.write_bytes(b"starting\n")
    w = hfx("--watch", "--format", "jsonl", str(log)).ready()
    append(log, gated_traceback("acme/before"))
    w.wait_out(b"acme/before")
    append(log, gated_traceback("acme/last-words"))   # written just before the rotation…
    os.rename(log, tmp_path / "job.log.1")           # …logrotate's rename…
    log.write_bytes(b"new file\n" + gated_traceback("acme/after"))   # …and the writer's new file
    w.wait_out(b"acme/after")
    w.wait_out(b"acme/last-words")
    w.wait_err(b"job.log was replaced (rotated)")
    after = next(f for f in w.jsonl() if f["evidence"]["repo_id"] == "acme/after")
    assert after["evidence"]["lines"][0] == 7, "the new file is read from its start"
    assert w.stop() == 1
    assert len(w.jsonl()) == 3


def test_truncation_reads_again_from_the_start(tmp_path, hfx):
    log = tmp_path / "job.log"
    log.write_bytes(b"x" * 5000 + b"\n")
    w = hfx("--watch", "--format", "jsonl", str(log)).ready()
    os.truncate(log, 0)
    w.wait_err(b"job.log was truncated")
    append(log, gated_traceback("acme/after-truncate"))
    w.wait_out(b"acme/after-truncate")
    (found,) = w.jsonl()
    assert found["evidence"]["lines"] == [6, 9]
    assert w.stop() == 1


def test_rewritten_in_place_first_line_change(tmp_path, hfx):
    """Same inode, not shorter: only the first bytes tell that the file was rewritten."""
    log = tmp_path / "job.log"
    log.write_bytes(b"run 1 starting\n" + b"epoch 1\n" * 20)
    w = hfx("--watch", "--format", "jsonl", str(log)).ready()
    with open(log, "r+b") as fh:                      # no truncation: overwrite from offset 0
        fh.write(b"run 2 starting\n" + b"epoch 1\n" * 21 + gated_traceback("acme/run2"))
    w.wait_out(b"acme/run2")
    w.wait_err(b"job.log was rewritten")
    (found,) = w.jsonl()
    assert found["evidence"]["lines"] == [28, 31]
    assert w.stop() == 1


def test_file_that_does_not_exist_yet(tmp_path, hfx):
    log = tmp_path / "later.log"
    w = hfx("--watch", "--format", "jsonl", str(log)).ready()
    assert b"later.log does not exist yet" in w.err
    log.write_bytes(b"booting\n" + gated_traceback("acme/late"))
    w.wait_out(b"acme/late")
    assert w.jsonl()[0]["evidence"]["lines"] == [7, 10], "a file created later is read whole"
    assert w.stop() == 1


def test_deleted_and_recreated(tmp_path, hfx):
    log = tmp_path / "job.log"
    log.write_bytes(b"epoch 1\n")
    w = hfx("--watch", "--format", "jsonl", str(log)).ready()
    log.unlink()
    w.wait_err(b"job.log was removed")
    log.write_bytes(gated_traceback("acme/again"))
    w.wait_out(b"acme/again")
    assert w.stop() == 1


def test_glob_of_rank_logs_is_one_incident_with_the_ranks(tmp_path, hfx):
    logs = tmp_path / "logs"
    logs.mkdir()
    for r in range(4):
        (logs / f"rank{r}.log").write_bytes(b"loading model\n")
    w = hfx("--watch", "--format", "json", str(logs / "rank*.log")).ready()   # quoted glob: expanded by us
    for r in range(4):
        append(logs / f"rank{r}.log", gated_traceback("meta-llama/Llama-3.1-8B"))
    (logs / "rank4.log").write_bytes(gated_traceback("meta-llama/Llama-3.1-8B"))  # a rank that starts late
    w.wait_err(b"following " + str(logs / "rank4.log").encode() + b" (new file)")
    assert w.stop() == 1
    doc = json.loads(w.out)
    (found,) = doc["findings"]
    assert found["count"] == 5 and found["evidence"]["ranks"] == [0, 1, 2, 3, 4]
    assert sorted(found["evidence"]["inputs"]) == sorted(str(logs / f"rank{r}.log") for r in range(5))
    assert sorted(doc["inputs"]) == sorted(str(logs / f"rank{r}.log") for r in range(5))


def test_several_files_print_one_finding_for_one_incident(tmp_path, hfx):
    a, b = tmp_path / "rank0.log", tmp_path / "rank1.log"
    a.touch()
    b.touch()
    w = hfx("--watch", "--format", "jsonl", str(a), str(b)).ready()
    append(a, gated_traceback("acme/shared"))
    append(b, gated_traceback("acme/shared"))
    w.wait_out(b"acme/shared")
    assert w.stop() == 1
    assert len(w.jsonl()) == 1
    assert b"acme/shared \xc2\xb7 seen 2 times \xc2\xb7 ranks 0-1" in w.err


def test_exit_on_finding(tmp_path, hfx):
    log = tmp_path / "job.log"
    log.touch()
    w = hfx("--watch", "--exit-on-finding", str(log)).ready()
    append(log, gated_traceback("acme/stop-here"))
    assert w.proc.wait(timeout=DEADLINE) == 1
    w.wait_out(b"error: gated-not-accepted")
    assert w.stop() == 1


def test_polling_follows_appends_and_rotation(tmp_path, hfx):
    log = tmp_path / "job.log"
    log.write_bytes(b"epoch 1\n")
    w = hfx("--watch", "--poll", "--poll-interval", "0.2", "--format", "jsonl", str(log)).ready()
    assert b"polling every 0.2s" in w.err
    append(log, gated_traceback("acme/polled"))
    w.wait_out(b"acme/polled")
    os.rename(log, tmp_path / "job.log.1")
    log.write_bytes(gated_traceback("acme/polled-after-rotation"))
    w.wait_out(b"acme/polled-after-rotation")
    assert w.stop(signal.SIGTERM) == 1


def test_ctrl_c_with_nothing_found_exits_0_with_a_summary(tmp_path, hfx):
    log = tmp_path / "job.log"
    log.write_bytes(b"epoch 1\n")
    w = hfx("--watch", str(log)).ready()
    append(log, b"epoch 2 loss=0.3\nRuntimeError: CUDA out of memory\n")
    assert w.stop() == 0
    assert b"no Hugging Face Hub access problem" in w.out


def test_usage_errors(tmp_path):
    from conftest import run_hfx

    assert run_hfx("--watch", str(tmp_path)).returncode == 2            # a directory
    assert run_hfx("--watch").returncode == 2                           # nothing to follow
    assert run_hfx("--from-start", str(tmp_path / "x.log")).returncode == 2   # without --watch
    assert run_hfx("--watch", "--probe", str(tmp_path / "x.log")).returncode == 2


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_idle_watch_uses_no_cpu(tmp_path, hfx):
    """No busy polling: a quiet log costs (next to) no CPU. A polling loop would burn whole seconds."""
    log = tmp_path / "job.log"
    log.write_bytes(b"epoch 1\n")
    w = hfx("--watch", str(log)).ready()

    def cpu() -> float:
        fields = Path(f"/proc/{w.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    before = cpu()
    time.sleep(3)
    assert cpu() - before < 0.3
    assert w.stop() == 0


def test_pipe_reports_a_traceback_followed_by_silence_before_eof(hfx, token):
    """A plain pipe: the job printed its traceback and hangs; the finding must not wait for EOF."""
    w = hfx("--format", "jsonl", stdin=subprocess.PIPE)
    assert w.proc.stdin is not None
    w.proc.stdin.write(b"epoch 1\n" + gated_traceback("acme/piped", token))    # nothing follows it
    w.proc.stdin.flush()
    w.wait_out(b"acme/piped")
    assert w.proc.poll() is None, "reported while the pipe is still open"
    w.proc.stdin.close()
    assert w.stop(None) == 1
    assert len(w.jsonl()) == 1 and token.encode() not in w.out + w.err


def test_pipe_exit_on_finding_stops_while_the_job_still_writes(hfx):
    """``job 2>&1 | hfexplain --exit-on-finding``: exit 1 at the first failure, not at the pipe's end."""
    w = hfx("--exit-on-finding", "--format", "jsonl", stdin=subprocess.PIPE)
    assert w.proc.stdin is not None
    w.proc.stdin.write(b"epoch 1\n" + gated_traceback("acme/first") + b"epoch 2\n" + gated_traceback("acme/second"))
    w.proc.stdin.flush()                 # and the pipe stays open
    assert w.stop(None) == 1
    assert [f["evidence"]["repo_id"] for f in w.jsonl()] == ["acme/first"]


def test_memory_stays_flat_over_many_repeats():
    """A failure retried for hours: one finding whose count grows, no memory that grows with it."""
    out = io.StringIO()
    report = LiveReport("jsonl", False, out)
    engine = Engine(on_finding=report.on_finding)
    engine.incidents.across_inputs = True
    report.current = lambda: engine.incidents.findings
    feed = engine.open("job.log", rank=0)
    block = gated_traceback("acme/retried")

    def repeat(n: int) -> int:
        for i in range(n):
            feed.feed(b"attempt %d\n" % i + block)
            feed.flush()
            report.emit_due(everything=True)
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        repeat(1000)                     # warm-up: caches fill
        before = repeat(200)
        after = repeat(2000)
    finally:
        tracemalloc.stop()
    assert after - before < 200_000, f"grew {after - before} bytes over 2000 repeats"
    assert engine.findings()[0].count == 3200 and len(out.getvalue().splitlines()) == 1


# -- units ---------------------------------------------------------------------------------------
def test_rank_of_names():
    assert rank_of("/x/logs/rank3.log") == 3
    assert rank_of("/x/train_rank_12.out") == 12
    assert rank_of("/runs/x/attempt_0/5/stderr.log") == 5
    assert rank_of("/x/frank1.log") is None
    assert rank_of("/x/job.log") is None
    assert ranks_text([0, 1, 2, 3, 7, 9, 10]) == "0-3, 7, 9-10"


def test_network_filesystems_are_polled(tmp_path):
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "40 22 0:50 / /mnt/shared\\040data rw,relatime shared:20 - nfs4 srv:/export rw,vers=4.2\n"
        "41 22 0:51 / /lustre rw shared:21 - lustre 10.0.0.1@tcp:/fs rw\n"
        "42 22 0:52 / /mnt/host rw - fuse.grpcfuse grpcfuse rw\n"
    )
    kind = lambda p: follow.fs_type(p, str(mountinfo))  # noqa: E731
    assert kind("/mnt/shared data/run/job.log") == "nfs4"
    assert kind("/lustre/scratch/rank0.log") == "lustre"
    assert kind("/home/me/job.log") == "ext4"
    assert [follow.needs_polling(kind(p)) for p in ("/mnt/shared data/x", "/lustre/x", "/mnt/host/x", "/home/x")] \
        == [True, True, True, False]


def test_backend_falls_back_to_polling(tmp_path, monkeypatch):
    """On NFS (no events for other hosts' writes) and when inotify cannot be set up, --watch polls."""
    log = tmp_path / "job.log"
    log.write_bytes(b"epoch 1\n")
    notes: list[str] = []

    def follower() -> follow.Follower:
        report = LiveReport("jsonl", False, io.StringIO())
        return follow.Follower([str(log)], Engine(on_finding=report.on_finding), report, note=notes.append)

    monkeypatch.setattr(follow, "fs_type", lambda path: "nfs4")
    f = follower()
    f.start()
    f.close()
    assert f.backend == "polling" and "nfs4" in notes[-1]
    monkeypatch.undo()

    import watchdog.observers

    class Broken:
        def __init__(self) -> None:
            raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watchdog.observers, "Observer", Broken)
    f = follower()
    f.start()
    f.close()
    assert f.backend == "polling" and "inotify watch limit reached" in notes[-1]
    monkeypatch.undo()

    f = follower()
    f.start()
    f.close()
    expected = "inotify" if sys.platform.startswith("linux") else None
    assert expected is None or f.backend == expected
