"""Findings: ranked causes with evidence, one per incident (design §6).

Every event's matching rules become one candidate (the most confident rule wins; the others
become alternatives). Candidates that describe the same incident — the same cause on the same
repo, eight ranks printing one error, the urllib3 line and the traceback of one request, a
printed pyannote warning and the crash it leads to — merge into one finding with a count.
"""

from __future__ import annotations

from .events import Event, Exc
from .rules import Hit, Rule, render_template
from .versions import implied

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from typing import Any

MAX_EVIDENCE_LINES = 24
MAX_EXCERPT_ROWS = 12
NEAR_LINES = 200          # candidates naming one repo this close together are one incident
MAX_EVENTS = 16           # events kept per finding (a failure retried for hours keeps memory flat)
MAX_INPUTS = 64           # other inputs named by one finding (per-rank logs)
KEPT_ROWS = 48            # rows of an event a finding keeps (its edges, for the probes' version
KEPT_CHARS = 400          # markers), each cut to KEPT_CHARS: findings over 16 KB lines stay small
MAX_FINDINGS = 1000       # distinct incidents kept; further ones are only counted (Incidents.dropped)
RECENT = 64               # a candidate is compared with this many latest incidents: a log of 100 000
                          # distinct failures is merged in linear time, not quadratic (older ones: by key)
KEPT_BUDGET = 8 << 20     # bytes (estimated) of event text all findings keep together: memory stays flat
SLIM_ROWS = 4             # rows an event keeps once the budget is spent


class Finding:
    """One incident: its cause, the evidence, the fix, ranked alternatives and the probe verdict."""

    def __init__(self, cause: str, rule: str, title: str, confidence: float, evidence: dict[str, Any],
                 fix: dict[str, Any], alternatives: list[dict[str, Any]] | None = None, *, kind: str = "traceback",
                 why: str = "", events: list[Event] | None = None, absorbs: dict[str, Any] | None = None,
                 variables: dict[str, str] | None = None) -> None:
        self.cause, self.rule, self.title, self.confidence = cause, rule, title, confidence
        self.evidence, self.fix = evidence, fix
        self.alternatives = alternatives if alternatives is not None else []
        self.probe: dict[str, Any] = {"status": "not-run", "checks": []}
        self.count = 1
        self.kind = kind                        # the kind of event that decided the cause
        self.why = why                          # the rule's explanation of this shape
        self.events = events if events is not None else []
        self.absorbs = absorbs or {}            # the rule's `absorbs` (correlation)
        self.variables = variables or {}        # for re-rendering after probes

    def __repr__(self) -> str:
        return f"Finding({self.cause!r}, {self.rule!r}, {self.confidence})"

    @property
    def repo_id(self) -> str | None:
        return self.evidence.get("repo_id")

    def to_dict(self) -> dict[str, Any]:
        evidence = {k: v for k, v in self.evidence.items() if v not in (None, [], "")}
        return {
            "cause": self.cause, "rule": self.rule, "title": self.title,
            "confidence": round(self.confidence, 2), "count": self.count, "why": self.why,
            "evidence": evidence, "probe": self.probe, "fix": self.fix,
            "alternatives": self.alternatives,
        }


def _variables(hit: Hit) -> dict[str, str]:
    f = hit.event.fields
    versions = implied(hit.event.text)
    out = {
        "repo_id": f.get("repo_id"), "url": f.get("url"), "status": f.get("status"),
        "repo_type": f.get("repo_type"), "revision": f.get("revision"), "filename": f.get("filename"),
        "host": f.get("host"), "request_id": f.get("request_id"), "login_cmd": versions.login_command,
        "exception": hit.exception,
    }
    repo_ids = f.get("repo_ids") or []
    out["repo_ids"] = ", ".join(repo_ids) if repo_ids else None
    if f.get("repo_id"):
        prefix = {"dataset": "datasets/", "space": "spaces/"}.get(f.get("repo_type") or "", "")
        out["repo_url"] = f"https://huggingface.co/{prefix}{f['repo_id']}"
    out.update(hit.variables)
    return {k: str(v) for k, v in out.items() if v not in (None, "")}


def _fill(items: list[str], variables: dict[str, str]) -> list[str]:
    return [render_template(s, variables) for s in items]


def fill_fix(rule: Rule, variables: dict[str, str]) -> dict[str, Any]:
    """A rule's fix with the finding's variables filled in."""
    return {
        "summary": render_template(rule.fix["summary"].strip(), variables),
        "steps": _fill(rule.fix.get("steps", []), variables),
        "commands": _fill(rule.fix.get("commands", []), variables),
        "links": _fill(rule.fix.get("links", []), variables),
    }


def candidate(hits: list[Hit]) -> Finding:
    """The finding one event supports: the most confident (then most specific) rule wins —
    unless another matching rule declares that it explains (``absorbs``) the winner's cause."""
    hits = sorted(hits, key=lambda h: (-h.rule.confidence, -h.rule.specificity, h.rule.id))
    explainer = next((h for h in hits[1:] if hits[0].rule.cause in
                      (h.rule.raw.get("absorbs") or {}).get("causes", [])), None)
    if explainer is not None:
        hits.remove(explainer)
        hits.insert(0, explainer)
    best = hits[0]
    ev, rule = best.event, best.rule
    variables = _variables(best)
    fix = fill_fix(rule, variables)
    alternatives: list[dict[str, Any]] = []
    seen = {rule.cause}
    for alt in rule.alternatives:
        if alt["cause"] not in seen:
            seen.add(alt["cause"])
            alternatives.append({
                "cause": alt["cause"], "confidence": float(alt.get("confidence", 0.3)),
                "separated_by": render_template(alt.get("separated_by", ""), variables),
            })
    for other in hits[1:]:
        if other.rule.cause not in seen:
            seen.add(other.rule.cause)
            alternatives.append({"cause": other.rule.cause, "confidence": other.rule.confidence,
                                 "separated_by": f"rule {other.rule.id} also matches this event"})
    alternatives.sort(key=lambda a: -a["confidence"])
    f = ev.fields
    lines = sorted(set(best.lines))
    evidence = {
        "input": ev.input, "lines": lines, "repo_id": f.get("repo_id"), "status": f.get("status"),
        "url": f.get("url"), "exception": best.exception, "request_id": f.get("request_id"),
        "request_date": f.get("request_date"), "excerpt": excerpt(ev, lines),
    }
    if len(f.get("repo_ids") or []) > 1:
        evidence["repo_ids"] = f["repo_ids"]
    if "rank" in f:
        evidence["ranks"] = [f["rank"]]
    return Finding(rule.cause, rule.id, render_template(rule.title, variables), rule.confidence,
                   evidence, fix, alternatives, kind=ev.kind, why=render_template(rule.description, variables),
                   events=[_kept(ev)], absorbs=dict(rule.raw.get("absorbs") or {}), variables=variables)


def _kept(ev: Event, keep: int = KEPT_ROWS) -> Event:
    """The event as its finding keeps it: its edges, cut to size, without cached joins."""
    rows = ev.rows if len(ev.rows) <= keep else ev.rows[:keep // 2] + ev.rows[-keep // 2:]
    excs = [Exc(e.type, e.message[:KEPT_CHARS], e.lineno, e.frames[-keep:]) for e in ev.exceptions[-keep:]]
    fields = {k: v for k, v in ev.fields.items() if not k.startswith("_")}
    return Event(ev.kind, [(n, t[:KEPT_CHARS]) for n, t in rows], excs, fields, ev.prefix, ev.input,
                 ev.dropped_rows + len(ev.rows) - len(rows))


def excerpt(ev: Event, lines: list[int]) -> str:
    """The evidence rows: the matched lines and the exception lines, numbered, at most a dozen."""
    wanted = set(lines)
    for exc in ev.exceptions[-3:]:
        wanted.add(exc.lineno)
    rows = [(n, t) for n, t in ev.rows if n in wanted]
    if not rows:
        rows = ev.rows[:MAX_EXCERPT_ROWS]
    seen: set[tuple[int, str]] = set()
    out = []
    for n, t in rows:
        if (n, t) not in seen:
            seen.add((n, t))
            out.append(f"{n}: {t[:300]}")
    return "\n".join(out[:MAX_EXCERPT_ROWS])


class Incidents:
    """Merges candidates into incidents and keeps them in order of appearance."""

    def __init__(self, across_inputs: bool = False) -> None:
        self.findings: list[Finding] = []
        # Inputs that are parts of one job (per-rank logs followed together, a child's stdout and
        # stderr): the same cause on the same repo in two of them is one incident.
        self.across_inputs = across_inputs
        self.explainers: list[Finding] = []     # the findings whose rule absorbs other causes
        self.dropped = 0                        # distinct incidents past MAX_FINDINGS, not kept
        self.floor = 0.0                        # at the cap: no kept incident is less confident
        self.by_key: dict[tuple[str | None, ...], Finding] = {}  # (input,) cause, repo -> its incident
        self.kept = 0                           # characters of event text the findings keep (KEPT_BUDGET)

    def add(self, cand: Finding) -> tuple[Finding | None, bool]:
        """Add a candidate; returns (the finding it now belongs to, whether it is new).

        The finding is None when the candidate is a new incident past :data:`MAX_FINDINGS`.
        """
        explainer = self._explained_by(cand)
        if explainer is not None:
            # An earlier finding (e.g. "HF_TOKEN is set and is the active token") explains this failure.
            self._absorb(explainer, cand)
            explainer.confidence = max(explainer.confidence, float(explainer.absorbs.get("confidence", 0.85)))
            return explainer, False
        target = self._same_incident(cand)
        if target is None:
            if len(self.findings) >= MAX_FINDINGS and not self._make_room(cand):
                self.dropped += 1
                return None, False
            self.findings.append(cand)
            self._store(cand)
            if cand.absorbs:
                self.explainers.append(cand)
            return cand, True
        if (target.kind == "http" and cand.kind != "http" and cand.confidence >= target.confidence) or (
            cand.kind != "http" and cand.confidence > target.confidence and cand.cause != target.cause
        ):
            # The traceback explains what the bare HTTP line (or a printed warning) only hinted at.
            self._absorb(cand, target, stored=False)
            self.findings[self.findings.index(target)] = cand
            self._release(target, successor=cand)
            self._store(cand)
            if target.absorbs or cand.absorbs:
                self.explainers = [f for f in self.findings if f.absorbs]
            return cand, False
        self._absorb(target, cand)
        return target, False

    def _make_room(self, cand: Finding) -> bool:
        """At the cap, a candidate more confident than the weakest kept incident replaces it
        (a real traceback after a flood of bare HTTP lines is still reported)."""
        if cand.confidence <= self.floor:
            return False
        weakest = min(self.findings, key=lambda f: f.confidence)
        self.floor = weakest.confidence
        if cand.confidence <= weakest.confidence:
            return False
        self.findings.remove(weakest)
        self._release(weakest)
        self.dropped += 1
        if weakest.absorbs:
            self.explainers = [f for f in self.findings if f.absorbs]
        return True

    def _explained_by(self, cand: Finding) -> Finding | None:
        for f in self.explainers:
            if cand.cause in f.absorbs.get("causes", []) \
                    and f.evidence["input"] == cand.evidence["input"] \
                    and f.evidence["lines"][0] <= cand.evidence["lines"][0]:
                return f
        return None

    def _same_incident(self, cand: Finding) -> Finding | None:
        line = cand.evidence["lines"][0]
        for f in reversed(self.findings[-RECENT:]):
            if f.evidence["input"] != cand.evidence["input"]:
                if self.across_inputs and f.cause == cand.cause and f.repo_id == cand.repo_id:
                    return f
                continue
            if f.cause == cand.cause and (f.repo_id == cand.repo_id or not cand.repo_id or not f.repo_id):
                return f
            near = abs(line - f.evidence["lines"][-1]) <= NEAR_LINES
            if cand.repo_id and f.repo_id == cand.repo_id and (near or "http" in (cand.kind, f.kind)):
                return f
            if near and f.kind != cand.kind and not (f.repo_id and cand.repo_id):
                return f        # e.g. a logged HTTP response and the traceback that masks it
        key = self._key(cand)   # an older incident of the same cause on the same repo
        return self.by_key.get(key) if key else None

    def _key(self, f: Finding) -> tuple[str | None, ...] | None:
        if not f.repo_id:
            return None
        return (f.cause, f.repo_id) if self.across_inputs else (f.evidence["input"], f.cause, f.repo_id)

    def _store(self, f: Finding) -> None:
        """Index a new incident and count the event text it keeps; past the budget, it keeps the
        edges of its first event only (the probes' version markers are in its exception lines)."""
        key = self._key(f)
        if key:
            self.by_key.setdefault(key, f)
        size = _size(f.events)
        if self.kept + size > KEPT_BUDGET:
            f.events = [_kept(ev, SLIM_ROWS) for ev in f.events[:1]]
            size = _size(f.events)
        self.kept += size

    def _release(self, f: Finding, successor: Finding | None = None) -> None:
        key = self._key(f)
        if key and self.by_key.get(key) is f:
            if successor is None:
                del self.by_key[key]
            else:
                self.by_key[key] = successor
        self.kept -= _size(f.events)

    def _absorb(self, into: Finding, other: Finding, stored: bool = True) -> None:
        """Merge ``other`` into ``into`` (``stored``: ``into`` is kept already, its text counted)."""
        same_event_kind = into.kind == other.kind
        into.count = into.count + other.count if same_event_kind else max(into.count, other.count)
        ev, oe = into.evidence, other.evidence
        if oe["input"] == ev["input"]:
            ev["lines"] = sorted(set(ev["lines"]) | set(oe["lines"]))[:MAX_EVIDENCE_LINES]
            if not same_event_kind:     # a different view of the incident: show its lines too
                rows = (ev.get("excerpt") or "").splitlines()
                rows += [r for r in (oe.get("excerpt") or "").splitlines() if r not in rows]
                ev["excerpt"] = "\n".join(sorted(rows, key=lambda r: int(r.split(":", 1)[0] or 0))[:MAX_EXCERPT_ROWS])
        else:           # line numbers of another input mean nothing here: name the input instead
            inputs = ev.setdefault("inputs", [ev["input"]])
            for name in oe.get("inputs", [oe["input"]]):
                if name not in inputs and len(inputs) < MAX_INPUTS:
                    inputs.append(name)
        for key in ("repo_id", "status", "url", "request_id", "request_date"):
            if not ev.get(key) and oe.get(key):
                ev[key] = oe[key]
        if "ranks" in oe:
            ev["ranks"] = sorted(set(ev.get("ranks", [])) | set(oe["ranks"]))
        known = {into.cause} | {a["cause"] for a in into.alternatives}
        if other.cause not in known:
            known.add(other.cause)
            into.alternatives.append({"cause": other.cause, "confidence": other.confidence,
                                      "separated_by": f"line {oe['lines'][0]} alone would suggest it"})
        for alt in other.alternatives:
            if alt["cause"] not in known:
                known.add(alt["cause"])
                into.alternatives.append(alt)
        into.alternatives.sort(key=lambda a: -a["confidence"])
        if len(into.events) < MAX_EVENTS and other.events:
            size = _size(other.events[:1])
            if self.kept + size <= KEPT_BUDGET:
                into.events.append(other.events[0])
                if stored:
                    self.kept += size

    def ranked(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (-f.confidence, f.evidence["lines"][0]))


ROW_COST = 120            # bytes of Python objects around one kept row, exception or frame beyond its text


def _size(events: list[Event]) -> int:
    """Bytes the events' kept text costs, estimated (what the budget counts): rows, exception
    messages and frames, each with its objects' overhead (short rows cost mostly overhead)."""
    total = 0
    for ev in events:
        total += sum(len(t) for _, t in ev.rows) + ROW_COST * len(ev.rows)
        for e in ev.exceptions:
            total += len(e.message) + ROW_COST + sum(len(fr) + ROW_COST for fr in e.frames)
    return total
