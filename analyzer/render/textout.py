"""Terminal output in the style of pip's diagnostic errors: cause id, message, note, hint.

The report is built once as styled lines; :func:`plain` joins them for pipes and NO_COLOR,
:func:`rich` (imported only on a colour terminal) paints them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from typing import IO

    from ..findings import Finding


Line = tuple[str, str]      # (style, text)


def _pct(x: float) -> str:
    return f"{round(x * 100)}%"


def _span(lines: list[int]) -> str:
    if not lines:
        return ""
    return str(lines[0]) if lines[0] == lines[-1] else f"{lines[0]}-{lines[-1]}"


def finding_lines(f: Finding) -> list[Line]:
    ev = f.evidence
    out: list[Line] = [("error", f"error: {f.cause}"), ("title", f"× {f.title}")]
    what = ", ".join(x for x in (ev.get("exception"), f"HTTP {ev['status']}" if ev.get("status") else None) if x)
    where = f"{ev.get('input', '-')}:{_span(ev.get('lines', []))}"
    out.append(("dim", f"╰─> {where}" + (f" ({what})" if what else "")))
    for row in (ev.get("excerpt") or "").splitlines():
        num, _, text = row.partition(": ")
        out.append(("excerpt", f"    {num:>6} │ {text}"))
    out.append(("", ""))
    if f.why:
        out.append(("note", "note: " + f.why.replace("\n", "\n      ")))
    facts = []
    if ev.get("repo_id"):
        facts.append(f"repo {ev['repo_id']}")
    if ev.get("request_date"):
        facts.append(f"request made {ev['request_date']}")
    if f.count > 1:
        facts.append(f"seen {f.count} times")
    if ev.get("ranks"):
        facts.append("ranks " + ranks_text(ev["ranks"]))
    if facts:
        out.append(("note", "      " + " · ".join(facts)))
    if f.probe.get("status", "not-run") != "not-run":
        out.append(("probe", f"probe: {f.probe['status']} — {f.probe.get('fact', '')}"))
    fix = f.fix
    out.append(("hint", "hint: " + fix["summary"]))
    for i, step in enumerate(fix.get("steps", []), 1):
        out.append(("hint", f"      {i}. {step}"))
    for cmd in fix.get("commands", []):
        out.append(("command", f"      $ {cmd}"))
    for link in fix.get("links", []):
        out.append(("link", f"link: {link}"))
    for alt in f.alternatives[:3]:
        sep = f" — {alt['separated_by']}" if alt.get("separated_by") else ""
        probed = f" [probe: {alt['probe']['status']}]" if alt.get("probe") else ""
        out.append(("alt", f"also possible: {alt['cause']} ({_pct(alt['confidence'])}){probed}{sep}"))
    out.append(("dim", f"confidence {_pct(f.confidence)} · rule {f.rule} · details: hfexplain rules show {f.rule}"))
    return out


def summary_lines(findings: list[Finding], inputs: list[str]) -> list[Line]:
    if not findings:
        return [("ok", f"No Hugging Face Hub access problem found in {', '.join(inputs) or 'the input'}.")]
    n = len(findings)
    return [("dim", f"{n} finding{'s' if n != 1 else ''} in {', '.join(inputs)}.")]


def plain(lines: list[Line], out: IO[str]) -> None:
    out.write("".join(text + "\n" for _, text in lines))


_STYLES = {
    "error": "bold red", "title": "bold", "dim": "dim", "excerpt": "", "note": "cyan", "hint": "green",
    "command": "bold green", "link": "blue underline", "alt": "yellow", "ok": "green", "probe": "bold magenta",
}


def rich(lines: list[Line], out: IO[str]) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, highlight=False, soft_wrap=True, force_terminal=True, no_color=False)
    for style, text in lines:
        console.print(Text(text, style=_STYLES.get(style, "")))


def ranks_text(ranks: list[int]) -> str:
    """``[0, 1, 2, 3, 7]`` → ``0-3, 7``: sixty-four ranks read as one range."""
    runs: list[list[int]] = []
    for r in sorted(set(ranks)):
        if runs and r == runs[-1][-1] + 1:
            runs[-1].append(r)
        else:
            runs.append([r])
    return ", ".join(str(g[0]) if len(g) == 1 else f"{g[0]}-{g[-1]}" for g in runs)
