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
    report.problems.extend(lint_patterns(rule))
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
            why = "; ".join(why_not(rule, events[0])) if events else "the text splits into no event"
            report.problems.append(f"match example {i}: expected a match, got none (events: {kinds}): {why}")
            continue
        for ev, _ in hits:
            _mark_exercised(rule, ev, exercised)
        if _outranked(rule, [ev for ev, _ in hits], engine):
            shadowed_on += 1
    if positives and shadowed_on == len(positives):
        report.problems.append("shadowed: a rule of the same cause outranks it on every match example")
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
        # Outranked by a rule of another cause, it still adds an alternative; by one of the
        # same cause, it adds nothing.
        others = [h.rule for h in engine.hits(ev) if h.rule.id != rule.id and h.rule.cause == rule.cause]
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


# -- why a rule does not match, and how far a regex got ----------------------------------------
def why_not(rule: Rule, event: Event) -> list[str]:
    """Each clause of ``rule`` that fails on ``event``, with what the event had instead."""
    from .hub import is_hub_host

    m, f, out = rule.match, event.fields, []
    if event.kind not in rule.events:
        out.append(f"event is a {event.kind}, the rule wants {', '.join(rule.events)}")
    for clause in _ANY_CLAUSES:
        if clause in m and not any(_holds(clause, v, event) for v in m[clause]):
            have = {"status": f.get("statuses"), "exception": [e.type for e in event.exceptions],
                    "exception_last": event.exceptions[-1].type if event.exceptions else None}.get(clause, "")
            out.append(f"{clause}: none of {m[clause]} holds" + (f" (event has {have})" if have else ""))
    for clause, hay in (("message_all", event.message), ("text_all", event.text)):
        missing = [v for v in m.get(clause, []) if v not in hay]
        if missing:
            out.append(f"{clause}: missing {missing}")
    hit = [v for v in m.get("not_text", []) if v in event.text]
    if hit:
        out.append(f"not_text: the event contains {hit}")
    host = m.get("host", "hub" if event.kind in ("http", "git") else "any")
    if host != "any" and is_hub_host(f.get("host")) != (host == "hub"):
        out.append(f"host: wants {host}, event host is {f.get('host')}")
    if "authenticated" in m and f.get("authenticated") is not m["authenticated"]:
        out.append(f"authenticated: wants {m['authenticated']}, event has {f.get('authenticated')}")
    if "regex" in m:
        where = matched_up_to(m["regex"], event.text)
        if where is not None:
            out.append(f"regex: {where}")
    return out or ["all clauses hold on this event"]


def _top_level_pieces(pattern: str) -> list[str]:
    """Split a regex into top-level atoms with their quantifiers (for prefix matching)."""
    pieces: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            j = i + 2
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            j += 1
        elif c == "(":
            depth, j = 1, i + 1
            while j < n and depth:
                if pattern[j] == "\\":
                    j += 1
                elif pattern[j] == "(":
                    depth += 1
                elif pattern[j] == ")":
                    depth -= 1
                j += 1
        elif c == "|":
            return [pattern]          # a top-level alternation: no meaningful prefix
        else:
            j = i + 1
        while j < n and pattern[j] in "*+?{":
            if pattern[j] == "{":
                k = pattern.find("}", j)
                j = k + 1 if k > 0 else j + 1
            else:
                j += 1
        pieces.append(pattern[i:j])
        i = j
    return pieces


def matched_up_to(pattern: str, text: str) -> str | None:
    """Like lnav: the longest prefix of the pattern that matches, and where in the text it stopped."""
    import re

    if re.search(pattern, text):
        return None
    pieces = _top_level_pieces(pattern)
    for k in range(len(pieces) - 1, 0, -1):
        prefix = "".join(pieces[:k])
        try:
            m = re.search(prefix, text)
        except re.error:
            continue
        if m:
            line_start = text.rfind("\n", 0, m.end()) + 1
            line_end = text.find("\n", m.end())
            line = text[line_start:line_end if line_end >= 0 else len(text)]
            col = m.end() - line_start
            return (f"matched up to here: {pieces[k]!r} fails at column {col + 1}\n"
                    f"        {line[:200]}\n        {' ' * min(col, 200)}^")
    return "no part of the pattern matches"


# -- pattern lint and catastrophic backtracking ------------------------------------------------
_UNBOUNDED = __import__("re").compile(r"(?<!\\)\.[*+]")


def lint_patterns(rule: Rule) -> list[str]:
    """Reject unbounded .*/.+ between literals and patterns that hang on crafted input."""
    problems = []
    patterns = ([("match.regex", rule.match["regex"])] if "regex" in rule.match else []) + \
        [(f"extract.{k}", v) for k, v in rule.extract.items()]
    for where, pattern in patterns:
        for m in _UNBOUNDED.finditer(pattern):
            inner = pattern[: m.start()].strip("^(?:") and pattern[m.end():].strip("$)")
            if inner:
                problems.append(f"{where}: unbounded {m.group()} between literals is quadratic in a backtracking "
                                "engine; bound it (.{0,200}) or use a negated class ([^\\n]*)")
                break
        slow = _backtracks(pattern, rule)
        if slow:
            problems.append(f"{where}: catastrophic backtracking: no answer within the timeout on {slow}")
    return problems


def _backtracks(pattern: str, rule: Rule) -> str | None:
    import re as _re

    import regex

    try:
        compiled = regex.compile(pattern)
    except regex.error:
        return None
    literals = [x for x in _re.split(r"\\.|[\[\]().*+?{}|^$]", pattern) if len(x) >= 2] or ["a"]
    crafted = {
        "its literals repeated": " ".join(literals) * (50_000 // max(1, len(" ".join(literals)))),
    }
    chars = [*sorted({c for c in "".join(literals) if c.isalnum()})[:8], "a", "0", " "]
    for c in dict.fromkeys(chars):     # long runs that almost match, then fail at the end
        crafted[f"5 000 × {c!r} then a mismatch"] = c * 5_000 + "\x00!"
        crafted[f"2 500 × {c + ' '!r} then a mismatch"] = (c + " ") * 2_500 + "\x00!"
    for example in rule.examples.get("match", [])[:2]:
        crafted["its first example repeated without its last character"] = (example[:-1] + " ") * 200
    for name, text in crafted.items():
        try:
            compiled.search(text, timeout=0.5)
        except TimeoutError:
            return name
    return None
