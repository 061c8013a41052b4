"""The full command line (typer): help, ``rules …``, ``doctor``, ``run``, and explain's rarer flags.

Loaded only when :func:`analyzer.cli.parse_fast` cannot handle the arguments, so the common
``hfexplain error.log`` path never pays for typer, click or pydantic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from . import __version__
from .cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, FORMATS, Options, explain

COMMANDS = ("explain", "doctor", "run", "rules")

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    help="Explain Hugging Face Hub 401/403/404 failures from a log: the cause, the evidence, the fix.\n\n"
    "hfexplain [PATH ...] is the same as hfexplain explain [PATH ...]; no PATH or '-' reads stdin.\n\n"
    "Exit codes: 0 nothing found, 1 at least one finding, 2 usage error, unreadable input or invalid rule.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
rules_app = typer.Typer(add_completion=False, help="List, show, validate, test and export the cause rules.")
app.add_typer(rules_app, name="rules")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hfexplain {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Explain Hugging Face Hub access failures."""


@app.command("explain")
def explain_cmd(
    paths: Optional[list[str]] = typer.Argument(None, help="Log files; none or '-' reads stdin."),
    fmt: str = typer.Option("text", "--format", "-f", help=f"Output format: {', '.join(FORMATS)}."),
    no_color: bool = typer.Option(False, "--no-color", help="Plain text even on a terminal (NO_COLOR is honoured)."),
    color: bool = typer.Option(False, "--color", help="Colour even when not on a terminal."),
    rules: Optional[list[str]] = typer.Option(None, "--rules", help="Extra rule directory (repeatable)."),
    probe: bool = typer.Option(False, "--probe", help="Confirm causes with live read-only checks."),
    watch: bool = typer.Option(False, "--watch", help="Follow PATH like tail -F (rotation, truncation, late "
                               "creation; several files and globs): report failures as they are written; Ctrl-C "
                               "stops with a summary."),
    from_start: bool = typer.Option(False, "--from-start", help="With --watch: read what the files hold first."),
    poll: bool = typer.Option(False, "--poll", help="With --watch: poll instead of file events (chosen "
                              "automatically on network filesystems and when inotify is unavailable)."),
    poll_interval: float = typer.Option(0.5, "--poll-interval", metavar="SECONDS", help="With polling: seconds "
                                        "between checks."),
    exit_on_finding: bool = typer.Option(False, "--exit-on-finding", help="Stop at the first finding with exit 1."),
) -> None:
    """Analyze logs (the default command)."""
    if fmt not in FORMATS:
        _fail(f"--format must be one of {', '.join(FORMATS)}")
    color_flag = False if no_color else (True if color else None)
    if watch:
        if probe:
            _fail("--probe cannot be combined with --watch")
        from .follow import main as follow

        raise typer.Exit(follow(list(paths or []), fmt=fmt, color=color_flag, rules_dirs=list(rules or []),
                                from_start=from_start, poll=poll, interval=poll_interval,
                                exit_on_finding=exit_on_finding))
    if from_start or poll:
        _fail("--from-start and --poll go with --watch")
    opts = Options(paths=list(paths or []), format=fmt, color=color_flag, rules=list(rules or []), probe=probe,
                   exit_on_finding=exit_on_finding)
    raise typer.Exit(explain(opts))


@app.command("doctor")
def doctor_cmd(
    fmt: str = typer.Option("text", "--format", "-f", help="text or json."),
    offline: bool = typer.Option(False, "--offline", help="Local checks only; send nothing."),
) -> None:
    """Check the environment and token with no log: what is fine, what is wrong, and the fix."""
    from .probe import doctor

    if fmt not in ("text", "json"):
        _fail("--format must be text or json")
    checks = doctor.run(network=not offline)
    if fmt == "json":
        typer.echo(json.dumps({"hfexplain": "1", "checks": [c.to_dict() for c in checks]}, indent=2))
    else:
        typer.echo(doctor.render_text(checks), nl=False)
    raise typer.Exit(doctor.exit_code(checks))


@app.command("run", context_settings={"allow_interspersed_args": False})
def run_cmd(
    command: Optional[list[str]] = typer.Argument(None, metavar="CMD",
                                                   help="The command to run and its arguments (after --)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text or jsonl (written to stderr)."),
    no_color: bool = typer.Option(False, "--no-color", help="Plain text even on a terminal (NO_COLOR is honoured)."),
    color: bool = typer.Option(False, "--color", help="Colour even when not on a terminal."),
    rules: Optional[list[str]] = typer.Option(None, "--rules", help="Extra rule directory (repeatable)."),
    exit_on_finding: bool = typer.Option(False, "--exit-on-finding", help="At the first finding stop the command "
                                         "(SIGTERM) and exit 1."),
) -> None:
    """Run a job: its output passes through unchanged, Hub failures are explained on stderr as they appear.

    Exits with the command's own exit code. Example: hfexplain run -- python train.py --lr 3e-4
    """
    from .runner import main as run

    raise typer.Exit(run(list(command or []), fmt=fmt, color=False if no_color else (True if color else None),
                         rules_dirs=list(rules or []), exit_on_finding=exit_on_finding))


@rules_app.command("list")
def rules_list(rules: Optional[list[str]] = typer.Option(None, "--rules", help="Extra rule directory.")) -> None:
    """One line per rule: id, cause, number of examples, title."""
    for r in sorted(_load(rules), key=lambda r: (r.cause, r.id)):
        n = len(r.examples.get("match", [])) + len(r.examples.get("no_match", []))
        typer.echo(f"{r.id:<44} {r.cause:<26} {n:>2} ex  {r.title}")


@rules_app.command("show")
def rules_show(rule_id: str, rules: Optional[list[str]] = typer.Option(None, "--rules")) -> None:
    """A rule and its cause's long explanation (like `rustc --explain`)."""
    from .rules import load_causes

    found = next((r for r in _load(rules) if r.id == rule_id), None)
    causes = load_causes()
    if found is None:
        if rule_id in causes:          # a cause id: show the cause and its rules
            c = causes[rule_id]
            typer.echo(f"{rule_id}: {c['title']}\n\n{c['explanation'].strip()}\n\nrules:")
            for r in _load(rules):
                if r.cause == rule_id:
                    typer.echo(f"  {r.id}  {r.title}")
            raise typer.Exit(EXIT_OK)
        _fail(f"no rule or cause with id {rule_id!r} (see: hfexplain rules list)")
    cause = causes.get(found.cause, {})
    typer.echo(f"rule:  {found.id}   ({found.path})\ncause: {found.cause} — {cause.get('title', '')}\n")
    if found.description:
        typer.echo(found.description + "\n")
    typer.echo(cause.get("explanation", "").strip() + "\n")
    typer.echo("match:\n" + json.dumps(found.match, indent=2))
    typer.echo(f"confidence: {found.confidence}")
    typer.echo("fix: " + found.fix["summary"])
    for step in found.fix.get("steps", []):
        typer.echo(f"  - {step}")


@rules_app.command("validate")
def rules_validate(paths: list[Path]) -> None:
    """Validate rule files or directories; exit 2 on any invalid rule."""
    from .rules import RuleError, _yaml_load, load_causes, parse_rule, rule_files, schema_errors

    causes = load_causes()
    files: list[Path] = []
    for p in paths:
        if not p.exists():
            _fail(f"no such file or directory: {p}")
        files.extend(rule_files(p) if p.is_dir() else [p])
    bad, seen = 0, {}
    for f in files:
        problems: list[str] = []
        rid = None
        try:
            data = _yaml_load(f.read_text(encoding="utf-8"))
        except Exception as exc:      # yaml.YAMLError, UnicodeDecodeError, OSError
            bad += 1
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            typer.echo(f"invalid: {f}: not a readable YAML file: {first}", err=True)
            continue
        try:
            rid = data.get("id") if isinstance(data, dict) else None
            problems = [f"field '{where}': {why}" if where else why for where, why in schema_errors(data)]
            if not problems:
                rule = parse_rule(data, str(f), causes)
                problems += _examples_fail(rule)
                if rid in seen:
                    problems.append(f"duplicate id, also in {seen[rid]}")
                seen[rid] = str(f)
        except RuleError as exc:
            problems.append(f"field '{exc.field}': {exc.why}" if exc.field else exc.why)
        if problems:
            bad += 1
            for why in problems:
                typer.echo(f"invalid: {f}" + (f": rule {rid}" if rid else "") + f": {why}", err=True)
    typer.echo(f"{len(files) - bad} valid, {bad} invalid")
    raise typer.Exit(EXIT_ERROR if bad else EXIT_OK)


def _examples_fail(rule: object) -> list[str]:
    """A rule whose own match examples fail (for a regex: how far it matched) is not valid."""
    from .engine import Engine
    from .ruletest import check_rule

    report = check_rule(rule, Engine([rule]))  # type: ignore[arg-type, list-item]  # its own triggers
    return [p for p in report.problems if p.startswith(("match example", "no_match example"))]


@rules_app.command("test")
def rules_test(paths: Optional[list[str]] = typer.Argument(None, help="Rule directories (default: built-in).")) -> None:
    """Run every rule's own match/no_match examples; exit 1 when any rule fails."""
    from .rules import RuleError, load_rules
    from .ruletest import check_all, duplicate_ids

    try:
        rules = load_rules(paths or [], validate=True)
    except RuleError as exc:
        _fail(f"invalid rule: {exc}")
    reports = check_all(rules)
    failed = [r for r in reports if not r.ok]
    for rep in reports:
        mark = "ok  " if rep.ok else "FAIL"
        typer.echo(f"{mark} {rep.rule.id} ({rep.checked} examples)")
        for p in rep.problems:
            typer.echo(f"     - {p}")
    for d in duplicate_ids(rules):
        typer.echo(f"FAIL duplicate id {d}")
    typer.echo(f"{len(reports) - len(failed)} passed, {len(failed)} failed")
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)


@rules_app.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of the rule format."""
    from .rules import load_schema

    typer.echo(json.dumps(load_schema(), indent=2))


@rules_app.command("export")
def rules_export(
    fmt: str = typer.Option("json", "--format", "-f",
                            help="json (all rules and the cause catalogue) or sigma (Sigma detection rules)."),
    rules: Optional[list[str]] = typer.Option(None, "--rules", help="Extra rule directory."),
) -> None:
    """All rules and the cause catalogue in one document, for other tools."""
    from .rules import load_causes, load_schema

    if fmt == "sigma":
        from .sigma import export

        typer.echo(export(_load(rules), load_causes()), nl=False)
        raise typer.Exit(EXIT_OK)
    if fmt != "json":
        _fail("--format must be json or sigma")
    doc = {
        "hfexplain_rules": "1",
        "format_version": load_schema().get("x-format-version", 1),
        "causes": list(load_causes().values()),
        "rules": [r.raw for r in sorted(_load(rules), key=lambda r: r.id)],
    }
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def _load(extra: Optional[list[str]]) -> list:
    """The rules with their examples (which a run's cache leaves out): these commands show them."""
    from .rules import RuleError, load_rules

    try:
        return load_rules(extra or [], examples=True)
    except RuleError as exc:
        _fail(f"invalid rule: {exc}")
        raise  # unreachable


def _fail(msg: str) -> None:
    typer.echo(f"hfexplain: error: {msg}", err=True)
    raise typer.Exit(EXIT_ERROR)


def run_typer(argv: list[str]) -> int:
    """Run the typer app on argv; the bare form (options or paths first) means ``explain``."""
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        argv = ["explain", *argv]
    try:
        rv = app(args=argv, prog_name="hfexplain", standalone_mode=False)
        return rv if isinstance(rv, int) else EXIT_OK
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_ERROR
    except Exception as exc:  # click's usage errors (typer may vendor its own click)
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            return EXIT_ERROR
        if type(exc).__name__ == "Abort":
            return 130
        raise


if __name__ == "__main__":
    sys.exit(run_typer(sys.argv[1:]))
