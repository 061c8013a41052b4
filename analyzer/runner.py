"""``hfexplain run -- CMD [ARGS]``: run a job, pass its output through untouched, explain Hub failures live.

- **Pass-through**: the command's stdout and stderr reach ours byte for byte, as soon as it writes
  them (one ``read``/``write`` per chunk, no buffering of ours). Where our stream is a terminal the
  command gets a pseudo-terminal of the same size for it (raw: no ``\\n`` → ``\\r\\n``), so it
  still sees a TTY — colours, progress bars and line buffering stay as they would be without us;
  where ours is a pipe or a file it gets a pipe, as it would have. Its stdin is ours, untouched.
- **Explanations** go to stderr, each on a line of its own, as soon as the failure is complete.
- **Exit**: the command's own exit code; when a signal killed it, we die of the same signal.
- **Signals**: SIGTERM, SIGHUP, SIGUSR1/2 and SIGWINCH are forwarded. Ctrl-C (SIGINT, SIGQUIT) from
  the terminal reaches the command directly, as it shares our process group; we forward those only
  when they did not come from the terminal (``kill -INT <our pid>``), so the command never gets two.
- ``--exit-on-finding``: at the first finding the command is sent SIGTERM (SIGKILL 10 s later) and we
  exit 1.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import time

from .live import QUIET, LiveReport, Wake

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .engine import Engine, Feed

READ = 64 * 1024
KILL_AFTER = 10.0       # --exit-on-finding: SIGKILL if SIGTERM did not end the command
LINGER = 0.2            # after the command exits: how long its (grand)children's output is still relayed
FORWARDED = ("SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2")
FROM_TERMINAL = ("SIGINT", "SIGQUIT")


class _Stream:
    """One of the command's outputs: read from ``fd``, written to ``target``, fed to the engine."""

    def __init__(self, fd: int, target: int, feed: Feed, is_pty: bool) -> None:
        self.fd, self.target, self.feed, self.is_pty = fd, target, feed, is_pty
        self.due: float | None = None
        self.relay = True           # False once our side is gone (EPIPE): keep reading, stop writing

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.feed.close()


def _raw_output(fd: int) -> None:
    """No output processing on a pseudo-terminal: bytes pass unchanged (no \\n → \\r\\n)."""
    import termios

    attrs = termios.tcgetattr(fd)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _copy_winsize(src: int, dst: int) -> None:
    import fcntl
    import termios

    with contextlib.suppress(OSError):
        fcntl.ioctl(dst, termios.TIOCSWINSZ, fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _display(cmd: list[str]) -> str:
    """The command as a summary names it: shell-quoted, secrets removed, short."""
    import shlex

    from .redact import redact

    text = redact(shlex.join(cmd))
    return text if len(text) <= 60 else text[:59] + "…"


def _from_terminal() -> bool:
    """Is our process group the terminal's foreground group? Then a Ctrl-C reached the command too."""
    for fd in (0, 1, 2):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


def main(cmd: list[str], *, fmt: str = "text", color: bool | None = None, rules_dirs: list[str] | None = None,
         exit_on_finding: bool = False) -> int:
    from .cli import EXIT_ERROR, _err, _use_color, load_rules_or_report

    if not cmd:
        _err("error: run needs a command: hfexplain run -- python train.py")
        return EXIT_ERROR
    if os.name != "posix":
        _err("error: run is not supported on this platform yet; pipe the output instead: CMD 2>&1 | hfexplain")
        return EXIT_ERROR
    if fmt not in ("text", "jsonl"):
        _err("error: run writes its findings to stderr as they appear: --format text or jsonl")
        return EXIT_ERROR
    ruleset = load_rules_or_report(rules_dirs)
    if ruleset is None:
        return EXIT_ERROR
    report = LiveReport(fmt, _use_color(color, sys.stderr), sys.stderr, err=sys.stderr, exit_on_finding=exit_on_finding)
    engine = report.engine(ruleset.rules)    # a traceback on stderr and a message on stdout: one incident
    return Runner(cmd, engine, report).run()


class Runner:
    def __init__(self, cmd: list[str], engine: Engine, report: LiveReport) -> None:
        self.cmd, self.engine, self.report = cmd, engine, report
        self.streams: list[_Stream] = []
        self.wake = Wake()
        self.last = b"\n"            # the last byte relayed to a terminal or to stderr
        self.proc: object = None
        self.term_sent: float | None = None

    # -- set-up -----------------------------------------------------------------------------
    def _outputs(self) -> list[int]:
        """The command's ends of its stdout and stderr (a pty where ours is a terminal, else a pipe)."""
        import pty

        child_ends = []
        for target, name in ((1, "<stdout>"), (2, "<stderr>")):
            if os.isatty(target):
                ours, theirs = pty.openpty()
                _raw_output(theirs)
                _copy_winsize(target, theirs)
            else:
                ours, theirs = os.pipe()
            os.set_blocking(ours, False)
            self.streams.append(_Stream(ours, target, self.engine.open(name), os.isatty(target)))
            child_ends.append(theirs)
        return child_ends

    def run(self) -> int:
        import subprocess

        from .cli import _err, report_notes

        child_ends = self._outputs()
        try:
            self.proc = proc = subprocess.Popen(self.cmd, stdout=child_ends[0], stderr=child_ends[1])
        except FileNotFoundError:
            _err(f"error: command not found: {self.cmd[0]}")
            return 127
        except OSError as exc:
            _err(f"error: cannot run {self.cmd[0]}: {exc.strerror or exc}")
            return 126
        finally:
            for fd in child_ends:
                os.close(fd)
            if self.proc is None:
                for s in self.streams:
                    s.close()
                self.wake.close()
        self.report.before_write = self._fresh_line
        saved = self._install_signals()
        try:
            self._loop()
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
            for s in self.streams:
                if s.fd >= 0:
                    s.close()
            self.wake.close()
        self.report.emit_due(everything=True)
        report_notes(self.engine, binary=False)
        rc = proc.returncode                    # type: ignore[attr-defined]
        if self.report.done:
            return 1
        self.report.finish([_display(self.cmd)], self.engine.findings(), verb="ran", quiet_if_none=True)
        if rc is not None and rc < 0:           # killed by a signal: die of it too, as a shell expects
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                signal.signal(-rc, signal.SIG_DFL)
                os.kill(os.getpid(), -rc)
            except (OSError, ValueError):
                pass
            return 128 - rc
        return rc if rc is not None else 1

    def _install_signals(self) -> dict[int, object]:
        saved: dict[int, object] = {}
        proc = self.proc

        def forward(signum: int, frame: object) -> None:
            if signum in terminal_sigs and _from_terminal():
                return                          # the terminal sent it to the command as well
            with contextlib.suppress(OSError):
                proc.send_signal(signum)        # type: ignore[attr-defined]

        def winch(signum: int, frame: object) -> None:
            for s in self.streams:
                if s.is_pty and s.fd >= 0:
                    _copy_winsize(s.target, s.fd)
            forward(signum, frame)

        terminal_sigs = {getattr(signal, n) for n in FROM_TERMINAL if hasattr(signal, n)}
        for name in (*FORWARDED, *FROM_TERMINAL):
            sig = getattr(signal, name, None)
            if sig is not None:
                saved[sig] = signal.signal(sig, forward)
        if hasattr(signal, "SIGWINCH"):
            saved[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, winch)
        saved[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda s, f: self.wake.set())
        return saved

    # -- the loop ---------------------------------------------------------------------------
    def _loop(self) -> None:
        import select

        proc = self.proc
        exited_at: float | None = None
        while True:
            open_streams = [s for s in self.streams if s.fd >= 0]
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:   # type: ignore[attr-defined]
                exited_at = now
            if exited_at is not None and (not open_streams or now - exited_at >= LINGER):
                break
            deadlines = [s.due for s in open_streams if s.due is not None]
            if self.report.next_due() is not None:
                deadlines.append(self.report.next_due())   # type: ignore[arg-type]
            if exited_at is not None:
                deadlines.append(exited_at + LINGER)
            if self.term_sent is not None:
                deadlines.append(self.term_sent + KILL_AFTER)
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            ready, _, _ = select.select([*(s.fd for s in open_streams), self.wake], [], [], timeout)
            for s in open_streams:
                if s.fd in ready:
                    self._pump(s)
            if self.wake in ready:
                self.wake.drain()
            now = time.monotonic()
            for s in self.streams:
                if s.due is not None and now >= s.due:
                    s.due = None
                    s.feed.flush()          # quiet: a traceback followed by silence is complete
            self.report.emit_due()
            if self.report.done:
                self._stop_command(now)

    def _pump(self, s: _Stream) -> None:
        try:
            data = os.read(s.fd, READ)
        except BlockingIOError:
            return
        except OSError as exc:                  # a pty whose every writer is gone reads as EIO
            if exc.errno != errno.EIO:
                raise
            data = b""
        if not data:
            s.close()
            return
        if s.relay:
            try:
                _write_all(s.target, data)
                if s.target == 2 or s.is_pty:
                    self.last = data[-1:]
            except BrokenPipeError:             # our reader is gone: so is the command's, as without us
                s.relay = False
                os.close(s.fd)
                s.fd = -1
                s.feed.close()
                return
        s.feed.feed(data)
        s.due = time.monotonic() + QUIET

    def _stop_command(self, now: float) -> None:
        proc = self.proc
        if proc.poll() is not None:             # type: ignore[attr-defined]
            return
        if self.term_sent is None:
            from .cli import _err

            self._fresh_line()
            _err("stopping the command (--exit-on-finding)")
            self.term_sent = now
            proc.terminate()                    # type: ignore[attr-defined]
        elif now - self.term_sent >= KILL_AFTER:
            proc.kill()                         # type: ignore[attr-defined]

    def _fresh_line(self) -> None:
        """Our explanation starts on a line of its own, even after a progress bar."""
        if self.last not in (b"\n", b""):
            sys.stderr.flush()
            os.write(2, b"\n")
            self.last = b"\n"
