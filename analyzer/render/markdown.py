"""Markdown ready to paste into a GitHub issue or a forum post (already redacted)."""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from ..findings import Finding


def _fence(text: str, lang: str = "text") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def finding(f: Finding) -> str:
    ev = f.evidence
    lines = ev.get("lines") or []
    span = f"{lines[0]}–{lines[-1]}" if lines and lines[0] != lines[-1] else (str(lines[0]) if lines else "")
    parts = [f"### `{f.cause}` — {f.title}", ""]
    meta = [f"confidence {round(f.confidence * 100)}%", f"rule `{f.rule}`"]
    if f.count > 1:
        meta.append(f"seen {f.count}×")
    if ev.get("repo_id"):
        meta.append(f"repo `{ev['repo_id']}`")
    if ev.get("request_date"):
        meta.append(f"request {ev['request_date']}")
    parts += [" · ".join(meta), "", f"**Evidence** (`{ev.get('input', '-')}`, line {span}):", ""]
    parts += [_fence(ev.get("excerpt", "")), ""]
    if f.why:
        parts += [f"**Why.** {f.why}", ""]
    parts += [f"**Fix.** {f.fix['summary']}", ""]
    parts += [f"{i}. {s}" for i, s in enumerate(f.fix.get("steps", []), 1)]
    if f.fix.get("steps"):
        parts.append("")
    if f.fix.get("commands"):
        parts += [_fence("\n".join(f"$ {c}" for c in f.fix["commands"]), "console"), ""]
    if f.fix.get("links"):
        parts += ["**Links:** " + " · ".join(f"<{u}>" for u in f.fix["links"]), ""]
    if f.alternatives:
        parts.append("**Also possible:**")
        parts += [f"- `{a['cause']}` ({round(a['confidence'] * 100)}%) — {a.get('separated_by', '')}"
                  for a in f.alternatives]
        parts.append("")
    return "\n".join(parts)


def document(inputs: list[str], findings: list[Finding]) -> str:
    head = f"## hfexplain: {len(findings)} finding{'s' if len(findings) != 1 else ''} in {', '.join(inputs)}\n"
    if not findings:
        return head + "\nNo Hugging Face Hub access problem found.\n"
    return head + "\n" + "\n".join(finding(f) for f in findings)
