"""Command line (design §5 CONTRACT).

The common path — ``hfexplain [explain] [PATH…] [--format F] [--no-color] [--rules DIR]`` —
is parsed here by hand so a pasted traceback is answered before any framework has loaded;
every other command, ``--help`` included, goes to the typer application in :mod:`analyzer.app`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from typing import Any

FORMATS = ("text", "json", "jsonl", "markdown")
SUBCOMMANDS = ("doctor", "run", "rules")
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


class FirstFinding(Exception):
    """--exit-on-finding: the first finding has been reported."""


class Options:
    """What an explain call asked for (parsed by hand on the fast path, by typer otherwise)."""

    def __init__(self, paths: list[str] | None = None, format: str | None = None, color: bool | None = None,
                 rules: list[str] | None = None, probe: bool = False, exit_on_finding: bool = False) -> None:
        self.paths = paths if paths is not None else []
        self.format, self.color, self.probe = format, color, probe
        self.rules = rules if rules is not None else []
        self.exit_on_finding = exit_on_finding


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: never lets a Python traceback reach the user."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        opts = parse_fast(argv)
        if opts is None:
            from .app import run_typer

            return run_typer(argv)
        return explain(opts)
    except UsageError as exc:
        _err(f"error: {exc}\nTry 'hfexplain --help'.")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except FirstFinding:
        return EXIT_FINDINGS
    except Exception as exc:  # the explainer must never crash in the user's face
        if os.environ.get("HFEXPLAIN_DEBUG"):
            raise
        _err(f"error: internal error ({type(exc).__name__}: {str(exc)[:200]}); set HFEXPLAIN_DEBUG=1 for details")
        return EXIT_ERROR


def parse_fast(argv: list[str]) -> Options | None:
    """Options of a plain explain call, or None when the full command line parser is needed."""
    if argv and argv[0] in SUBCOMMANDS:
        return None
    if argv and argv[0] == "explain":
        argv = argv[1:]
    opts = Options()
    it = iter(argv)
    only_paths = False
    for arg in it:
        if only_paths or arg == "-" or not arg.startswith("-"):
            opts.paths.append(arg)
        elif arg == "--":
            only_paths = True
        elif arg in ("--format", "-f") or arg.startswith("--format="):
            value = arg.split("=", 1)[1] if "=" in arg else next(it, None)
            if value not in FORMATS:
                raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
            opts.format = value
        elif arg == "--probe":
            opts.probe = True
        elif arg == "--no-color":
            opts.color = False
        elif arg == "--color":
            opts.color = True
        elif arg == "--rules" or arg.startswith("--rules="):
            value = arg.split("=", 1)[1] if "=" in arg else next(it, None)
            if not value:
                raise UsageError("--rules needs a directory")
            opts.rules.append(value)
        else:
            return None          # --help, --version, --probe, --watch, …: the full parser
    return opts


def explain(opts: Options) -> int:
    from .triggers import SMALL_INPUT, any_in, looks_binary

    ruleset = load_rules_or_report(opts.rules)
    if ruleset is None:
        return EXIT_ERROR
    paths = opts.paths or ["-"]
    fmt = opts.format or "text"
    report = Report(fmt, _use_color(opts.color, sys.stdout), stop_at_first=opts.exit_on_finding)
    live = not opts.probe and any(p == "-" and _is_live(sys.stdin) for p in paths)
    literals = ruleset.literals
    several = len(paths) > 1       # per-rank logs of one job, most often: one incident, its ranks listed
    engine = None
    names, failed, binary = [], False, []
    for path in paths:
        name = "<stdin>" if path == "-" else path
        try:
            src = _open_input(path, SMALL_INPUT)
        except OSError as exc:
            failed = True
            if isinstance(exc, IsADirectoryError):
                _err(f"error: {path} is a directory; give log files (e.g. {path.rstrip('/')}/*.log)")
            else:
                _err(f"error: cannot read {path}: {exc.strerror or exc}")
            continue
        names.append(name)
        if isinstance(src, bytes) and not any_in(src, literals):
            if looks_binary(src[:8192]):      # no trigger anywhere: no event is possible
                binary.append(name)
            continue
        if engine is None:                    # the engine is loaded only for inputs that need it
            from .engine import Engine
            from .events import rank_of

            engine = Engine(ruleset.rules, on_finding=report.on_finding if live or opts.exit_on_finding else None)
            engine.incidents.across_inputs = several
        rank = rank_of(path) if several and path != "-" else None
        try:
            if isinstance(src, bytes):
                engine.scan_text(src, name, rank=rank)
            elif live and path == "-":        # a pipe: a traceback followed by silence is reported then
                from .live import pump

                pump(src.fileno(), engine.open(name), on_quiet=lambda e=engine: report.settle(e.incidents.findings))
            else:
                with src:
                    _scan_file(engine, src, path, name, live, show_progress=fmt == "text" and sys.stderr.isatty(),
                               rank=rank)
        except OSError as exc:
            _err(f"error: cannot read {path}: {exc.strerror or exc}")
            failed = True
    for name in binary:
        _err(f"note: {name} looks like binary data, not a log; scanned it as text anyway")
    if engine is not None:
        report_notes(engine)
    findings = engine.findings() if engine else []
    if opts.probe and findings:
        findings = _probe(findings, ruleset.rules, fmt)
    report.finish(names, findings)
    if failed:
        return EXIT_ERROR
    return EXIT_FINDINGS if findings else EXIT_OK


def report_notes(engine: Any, binary: bool = True) -> None:
    """What a run could not do, said once at its end (plain, --watch and run alike).

    ``binary``: whether to say an input looked binary (not for ``run``, whose job may colour its output).
    """
    from .findings import MAX_FINDINGS
    from .rules import REGEX_TIMEOUT, TIMED_OUT

    for name in engine.binary_inputs if binary else []:
        _err(f"note: {name} looks like binary data, not a log; scanned it as text anyway")
    for rule_id, n in TIMED_OUT.items():
        _err(f"warning: rule {rule_id}: a regex of it gave no answer within {REGEX_TIMEOUT} s ({n}×) and was taken as "
             f"not matching (catastrophic backtracking?); `hfexplain rules test` checks its patterns")
    if engine.incidents.dropped:
        _err(f"note: {engine.incidents.dropped} more distinct failures were not kept (only the "
             f"{MAX_FINDINGS} most confident are reported)")


def _scan_file(engine: object, handle: object, path: str, name: str, live: bool, show_progress: bool,
               rank: int | None = None) -> None:
    """A big regular file on several cores; anything else as one stream, read ahead sequentially."""
    import stat

    fd = handle.fileno()  # type: ignore[attr-defined]
    st = os.fstat(fd)
    regular = stat.S_ISREG(st.st_mode)
    bar = Progress(name, st.st_size if regular else None, engine) if show_progress and not live else None
    try:
        if regular and not live:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            from .parallel import scan_file, workers_for

            parts = workers_for(st.st_size)
            if parts > 1 and path != "-":
                scan_file(engine, path, name, st.st_size, parts, progress=bar, rank=rank)  # type: ignore[arg-type]
                return
        engine.scan_stream(handle, name, progress=bar, rank=rank)  # type: ignore[attr-defined]
    finally:
        if bar is not None:
            bar.stop()


class Progress:
    """A progress bar on stderr (bytes, rate, findings so far) for an input that takes more than
    a second; for the text report on a terminal only, never in a pipe or a machine format. While
    forked workers scan a big file, incidents are merged only at the end: the bar counts the
    failures they have seen instead.

    rich is imported only once the second has passed: a quick run never pays for it.
    ``HFEXPLAIN_PROGRESS_AFTER=SECONDS`` moves the second (``inf``: never).
    """

    def __init__(self, name: str, total: int | None, engine: object) -> None:
        import time

        self.name, self.total, self.engine = name, total, engine
        self.clock = time.monotonic
        self.started = self.clock()
        try:
            self.after = float(os.environ.get("HFEXPLAIN_PROGRESS_AFTER") or 1.0)
        except ValueError:
            self.after = 1.0
        self.bar: object | None = None
        self.task: object | None = None

    def __call__(self, done: int, failures: int | None = None) -> None:
        if self.bar is None:
            if self.clock() - self.started < self.after:
                return
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                                TransferSpeedColumn(), TextColumn("{task.fields[found]} {task.fields[what]}"),
                                console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task(self.name, total=self.total, found=0, what="")  # type: ignore[attr-defined]
            self.bar.start()  # type: ignore[attr-defined]
        if failures is None:
            found, what = len(self.engine.incidents.findings), "findings"  # type: ignore[attr-defined]
        else:
            found, what = failures, "failures"
        self.bar.update(self.task, completed=done, found=found, what=what)  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()  # type: ignore[attr-defined]


def load_rules_or_report(dirs: list[str] | None) -> Any:
    """The rules a command runs with (a RuleSet: built when first needed), or None after saying
    which rule file is invalid."""
    from .rules import RuleError, RuleSet

    try:
        return RuleSet(dirs or [])
    except RuleError as exc:
        _err(f"error: invalid rule: {exc}")
        return None


def _open_input(path: str, small: int) -> bytes | object:
    """A small regular file's bytes (read at once), or an open binary stream to follow."""
    import stat

    if path == "-":
        stdin = sys.stdin.buffer
        if stdin.isatty():
            _err("Paste the log or traceback, then press Ctrl-D on an empty line (Ctrl-Z, Enter on Windows):")
        handle = stdin
    else:
        handle = open(path, "rb")  # noqa: SIM115 - returned open, or closed below
    try:
        st = os.fstat(handle.fileno())
    except (OSError, ValueError):
        return handle
    if stat.S_ISDIR(st.st_mode):
        handle.close()
        raise IsADirectoryError(21, "Is a directory", path)
    if stat.S_ISREG(st.st_mode) and st.st_size <= small:
        try:
            return handle.read()
        finally:
            if path != "-":
                handle.close()
    return handle


def _probe(findings: list, rules: list, fmt: str) -> list:
    """Confirm or refute each finding with live read-only checks; the plan is shown first."""
    from . import probe

    prober = probe.Prober()
    if fmt == "text":
        _err("probe plan (read-only; the token goes only to " + prober.endpoint + "):")
        for line in prober.plan(findings):
            sys.stderr.write(f"  - {line}\n")
        sys.stderr.flush()
    return probe.apply(prober, findings, rules)


class Report:
    """Writes findings in one format; in live mode (a pipe, a terminal) as soon as they appear."""

    def __init__(self, fmt: str, color: bool, stop_at_first: bool = False) -> None:
        self.fmt, self.color = fmt, color
        self.printed: list[int] = []
        self.kept: list[object] = []        # printed findings stay alive, so their ids stay unique
        self.out = sys.stdout
        self.stop_at_first, self.stopped = stop_at_first, False

    def on_finding(self, finding: object, new: bool) -> None:
        from .findings import Finding

        assert isinstance(finding, Finding)
        if self.stopped or finding.kind == "http" or id(finding) in self.printed:
            return          # bare HTTP lines wait: the traceback that follows says more
        if self.fmt in ("text", "jsonl"):
            self._emit(finding)
            self.out.flush()
        if self.stop_at_first:           # --exit-on-finding
            self.stopped = True
            if self.fmt not in ("text", "jsonl"):
                self.finish([finding.evidence.get("input", "-")], [finding])
            raise FirstFinding

    def settle(self, current: list) -> None:
        """A live input went quiet: a bare HTTP failure that no traceback followed is final for now."""
        for f in current:
            if f.kind == "http" and id(f) not in self.printed and self.fmt in ("text", "jsonl"):
                self._emit(f)
                self.out.flush()

    def _emit(self, finding: object) -> None:
        from .render import jsonout, textout

        self.printed.append(id(finding))
        self.kept.append(finding)
        if self.fmt == "jsonl":
            self.out.write(jsonout.line(finding))  # type: ignore[arg-type]
            return
        lines = textout.finding_lines(finding)  # type: ignore[arg-type]
        if len(self.printed) > 1:
            lines.insert(0, ("", ""))
        (textout.rich if self.color else textout.plain)(lines, self.out)

    def finish(self, inputs: list[str], findings: list) -> None:
        from .render import jsonout, markdown, textout

        if self.fmt == "json":
            self.out.write(jsonout.dumps(inputs, findings))
        elif self.fmt == "markdown":
            self.out.write(markdown.document(inputs, findings))
        else:
            for f in findings:
                if id(f) not in self.printed:
                    self._emit(f)
            if self.fmt == "text" and inputs:
                lines = [("", ""), *textout.summary_lines(findings, inputs)] if findings else \
                    textout.summary_lines(findings, inputs)
                (textout.rich if self.color else textout.plain)(lines, self.out)
        self.out.flush()


def _is_live(stream: object) -> bool:
    """A terminal or a pipe: output should follow the input, not wait for its end."""
    import stat

    try:
        mode = os.fstat(stream.fileno()).st_mode  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def _use_color(flag: bool | None, out: object) -> bool:
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def _err(msg: str) -> None:
    sys.stderr.write(f"hfexplain: {msg}\n")
    sys.stderr.flush()


def _quiet_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
