"""``hfexplain run -- CMD``: a real child process — output passed through byte for byte and unbuffered,
failures explained on stderr while it runs, its exit code and signals, Ctrl-C from a real terminal.

Every wait has a generous deadline (:data:`DEADLINE`); no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import gated_traceback, hfx_command, run_hfx

DEADLINE = 20.0
pytestmark = pytest.mark.skipif(os.name != "posix", reason="run is POSIX-only")


def child(tmp_path: Path, code: str, name: str = "job.py") -> list[str]:
    """A real Python job (the interpreter running the tests), as ``run`` would start it."""
    script = tmp_path / name
    script.write_text(textwrap.dedent(code))
    return [sys.executable, str(script)]


def env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1"}


def read_until(fd: int, needle: bytes, got: bytearray, proc: subprocess.Popen | None = None) -> None:
    """Read ``fd`` into ``got`` until ``needle`` shows up (or fail after DEADLINE)."""
    deadline = time.monotonic() + DEADLINE
    while needle not in got:
        assert time.monotonic() < deadline, f"timed out waiting for {needle!r}; got {bytes(got)!r}"
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                raise AssertionError(f"EOF before {needle!r}; got {bytes(got)!r}")
            got += chunk


def test_output_passes_through_byte_for_byte_with_the_exit_code(tmp_path):
    cmd = child(tmp_path, r"""
        import sys, os
        out, err = sys.stdout.buffer, sys.stderr.buffer
        out.write(b"\x1b[1;32mgreen\x1b[0m\r\n\xff\xfe not utf-8\n")
        for i in range(0, 101, 25):
            err.write(b"\rdownloading %3d%%|" % i + b"#" * (i // 10))
            err.flush()
        err.write(b"\n")
        out.write(b"no newline at the end")
        sys.exit(3)
    """)
    proc = subprocess.run([*hfx_command(), "run", "--", *cmd], capture_output=True, env=env(), timeout=60)
    assert proc.returncode == 3
    assert proc.stdout == b"\x1b[1;32mgreen\x1b[0m\r\n\xff\xfe not utf-8\nno newline at the end"
    assert proc.stderr == b"".join(b"\rdownloading %3d%%|" % i + b"#" * (i // 10) for i in range(0, 101, 25)) + b"\n"


def test_failure_explained_on_stderr_while_the_command_runs_and_its_exit_code_kept(tmp_path, token):
    """The child prints a traceback and then blocks until told to go on: the explanation must come
    before that, and the output must not be held back by any buffering of ours."""
    cmd = child(tmp_path, f"""
        import sys
        print("epoch 1 done", flush=True)
        sys.stderr.write({gated_traceback("acme/gated", token).decode()!r})
        sys.stderr.flush()
        sys.stdin.readline()              # the job hangs (a retry loop, a stuck collective…)
        print("resumed", flush=True)
    """)
    proc = subprocess.Popen([*hfx_command(), "run", "--", *cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env())
    try:
        out, err = bytearray(), bytearray()
        read_until(proc.stdout.fileno(), b"epoch 1 done\n", out)        # relayed at once, not at exit
        read_until(proc.stderr.fileno(), b"error: gated-not-accepted", err)
        assert proc.poll() is None, "explained while the command is still running"
        rest_out, rest_err = proc.communicate(b"go on\n", timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
    out += rest_out
    err += rest_err
    assert proc.returncode == 0, "the command's own exit code, not hfexplain's"
    assert bytes(out) == b"epoch 1 done\nresumed\n", "stdout carries nothing but the command's output"
    child_err = gated_traceback("acme/gated", token).decode().encode()
    assert err.startswith(child_err), "the command's stderr first, unchanged"
    ours = bytes(err[len(child_err):]).decode()
    assert "× Gated repo acme/gated" in ours and "<stderr>:6-9" in ours and "── " in ours
    assert ours.count("error: gated-not-accepted") == 1
    assert "hfexplain: ran " in ours and "1 finding" in ours
    assert token not in ours, "the explanation never shows the token"


def test_explanation_starts_on_a_fresh_line_after_a_progress_bar(tmp_path):
    cmd = child(tmp_path, f"""
        import sys
        sys.stderr.write({gated_traceback("acme/gated").decode()!r} + "Fetching 3 files:  33%|███")
        sys.stderr.flush()
    """)
    proc = subprocess.run([*hfx_command(), "run", "--", *cmd], capture_output=True, env=env(), timeout=60)
    assert proc.returncode == 0
    assert "33%|███\n── " in proc.stderr.decode()


def test_jsonl_on_stderr(tmp_path):
    cmd = child(tmp_path, f"""
        import sys
        sys.stderr.write({gated_traceback("acme/gated").decode()!r})
        sys.exit(1)
    """)
    proc = subprocess.run([*hfx_command(), "run", "--format", "jsonl", "--", *cmd], capture_output=True, env=env(),
                          timeout=60)
    assert proc.returncode == 1
    lines = [json.loads(line) for line in proc.stderr.decode().splitlines() if line.startswith('{"cause"')]
    assert [f["cause"] for f in lines] == ["gated-not-accepted"] and lines[0]["seen_at"]


def test_sigterm_is_forwarded(tmp_path):
    cmd = child(tmp_path, """
        import signal, sys, time
        def bye(signum, frame):
            print("got SIGTERM", flush=True)
            sys.exit(7)
        signal.signal(signal.SIGTERM, bye)
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([*hfx_command(), "run", "--", *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env())
    try:
        out = bytearray()
        read_until(proc.stdout.fileno(), b"ready\n", out)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 7 and b"got SIGTERM" in out + rest


def test_a_command_killed_by_a_signal_kills_us_with_it(tmp_path):
    cmd = child(tmp_path, """
        import os, signal
        os.kill(os.getpid(), signal.SIGTERM)
    """)
    proc = subprocess.run([*hfx_command(), "run", "--", *cmd], capture_output=True, env=env(), timeout=60)
    assert proc.returncode == -signal.SIGTERM


def test_exit_on_finding_stops_the_command(tmp_path):
    pidfile = tmp_path / "pid"
    cmd = child(tmp_path, f"""
        import os, sys, time
        open({str(pidfile)!r}, "w").write(str(os.getpid()))
        sys.stderr.write({gated_traceback("acme/gated").decode()!r})
        sys.stderr.flush()
        time.sleep(120)                  # would retry for hours
    """)
    start = time.monotonic()
    proc = subprocess.run([*hfx_command(), "run", "--exit-on-finding", "--", *cmd], capture_output=True, env=env(),
                          timeout=60)
    assert proc.returncode == 1
    assert time.monotonic() - start < 60
    assert b"error: gated-not-accepted" in proc.stderr and b"stopping the command" in proc.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(int(pidfile.read_text()), 0)


def test_command_not_found_and_usage():
    missing = run_hfx("run", "--", "no-such-command-hfexplain-test")
    assert missing.returncode == 127 and b"command not found" in missing.stderr
    assert run_hfx("run").returncode == 2
    assert run_hfx("run", "--format", "json", "--", "true").returncode == 2
    assert b"Traceback (most recent call last)" not in missing.stderr


def test_options_after_the_command_belong_to_it(tmp_path):
    cmd = child(tmp_path, "import sys; print(sys.argv[1:])")
    proc = subprocess.run([*hfx_command(), "run", *cmd, "--format", "json", "--exit-on-finding"],
                          capture_output=True, env=env(), timeout=60)
    assert proc.returncode == 0 and proc.stdout == b"['--format', 'json', '--exit-on-finding']\n"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")
def test_ctrl_c_in_a_real_terminal_reaches_the_command_once_and_colours_stay(tmp_path):
    """hfexplain in a terminal (a pty as its controlling terminal): the command sees a TTY on stdout and
    stderr, Ctrl-C typed there reaches it exactly once, and hfexplain exits with its exit code."""
    import pty

    cmd = child(tmp_path, """
        import signal, sys, time
        hits = []
        signal.signal(signal.SIGINT, lambda s, f: hits.append(s))
        sys.stdout.write("tty=%s,%s \\x1b[31mred\\x1b[0m\\n" % (sys.stdout.isatty(), sys.stderr.isatty()))
        sys.stdout.write("ready\\n")
        sys.stdout.flush()
        deadline = time.monotonic() + 30
        while not hits and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)                    # a second (forwarded) SIGINT would arrive now
        sys.exit(40 + len(hits))
    """)
    argv = [*hfx_command(), "run", "--", *cmd]
    pid, master = pty.fork()
    if pid == 0:                           # the child: a new session whose controlling terminal is the pty
        try:
            os.execvpe(argv[0], argv, env())
        finally:
            os._exit(127)
    got = bytearray()
    try:
        read_until(master, b"ready", got)
        os.write(master, b"\x03")          # Ctrl-C, typed
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:            # EIO: every writer is gone
                    break
                if not chunk:
                    break
                got += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
    assert b"tty=True,True \x1b[31mred\x1b[0m" in got
    assert os.waitstatus_to_exitcode(status) == 41, bytes(got)
