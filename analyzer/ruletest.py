"""Rule self-tests: every rule's own examples through the real engine (``hfexplain rules test``).

A rule passes when each ``match`` example yields an event the rule holds on, each
``no_match`` example yields none, it has at least one ``no_match`` example, each alternative
of its list clauses is exercised by some ``match`` example, and no other rule outranks it on
every one of its examples (a shadowed rule never decides anything).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .engine import Engine
from .events import Event
from .rules import Rule, match

_ANY_CLAUSES = ("message", "text", "exception", "exception_last", "status", "x_error_code", "url", "method")


@dataclass
class RuleReport:
    rule: Rule
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_rule(rule: Rule, engine: Engine) -> RuleReport:
    report = RuleReport(rule)
    examples = rule.examples
    positives, negatives = examples.get("match", []), examples.get("no_match", [])
    if not positives:
        report.problems.append("no `match` example")
    if not negatives:
        report.problems.append("no `no_match` example")
    exercised: dict[str, set[str]] = {k: set() for k in _ANY_CLAUSES if k in rule.match}
    shadowed_on = 0
    for i, text in enumerate(positives, 1):
        report.checked += 1
        events = engine.events_of(text)
        hits = [(ev, h) for ev in events if (h := match(rule, ev)) is not None]
        if not hits:
            kinds = ", ".join(sorted({e.kind for e in events})) or "no event"
            report.problems.append(f"match example {i}: expected a match, got none (events: {kinds})")
            continue
        for ev, _ in hits:
            _mark_exercised(rule, ev, exercised)
        if _outranked(rule, [ev for ev, _ in hits], engine):
            shadowed_on += 1
    if positives and shadowed_on == len(positives):
        report.problems.append("shadowed: another rule outranks it on every match example")
    for i, text in enumerate(negatives, 1):
        report.checked += 1
        if any(match(rule, ev) is not None for ev in engine.events_of(text)):
            report.problems.append(f"no_match example {i}: expected no match, but the rule matched")
    for clause, seen in exercised.items():
        values = [str(v) for v in rule.match[clause]]
        missing = [v for v in values if v not in seen]
        if missing:
            report.problems.append(f"clause {clause}: never exercised by an example: {missing}")
    return report


def _mark_exercised(rule: Rule, ev: Event, exercised: dict[str, set[str]]) -> None:
    for clause in exercised:
        for value in rule.match[clause]:
            if _holds(clause, value, ev):
                exercised[clause].add(str(value))


def _holds(clause: str, value: object, ev: Event) -> bool:
    """Whether one alternative of an any-of clause holds on the event."""
    f = ev.fields
    if clause == "message":
        return str(value) in ev.message
    if clause == "text":
        return str(value) in ev.text
    if clause == "exception":
        return any(e.is_a(str(value)) for e in ev.exceptions)
    if clause == "exception_last":
        return bool(ev.exceptions) and ev.exceptions[-1].is_a(str(value))
    if clause == "status":
        return value in (f.get("statuses") or [f.get("status")])
    if clause == "url":
        return str(value) in (f.get("url") or "")
    return f.get(clause) == value


def _outranked(rule: Rule, events: list, engine: Engine) -> bool:
    for ev in events:
        others = [h.rule for h in engine.hits(ev) if h.rule.id != rule.id]
        if not any(o.confidence > rule.confidence or
                   (o.confidence == rule.confidence and o.specificity > rule.specificity) for o in others):
            return False
    return True


def duplicate_ids(rules: list[Rule]) -> list[str]:
    seen: dict[str, str] = {}
    dups = []
    for r in rules:
        if r.id in seen:
            dups.append(f"{r.id}: {seen[r.id]} and {r.path}")
        seen[r.id] = r.path
    return dups


def check_all(rules: list[Rule]) -> list[RuleReport]:
    engine = Engine(rules)
    return [check_rule(r, engine) for r in rules]
