"""Cause rules: loading, validation of the shapes we rely on, and matching one event.

A rule is data (one YAML file, see ``rules/schema.json``). Its ``match`` clauses all must
hold on one event; literal clauses are plain substring tests (fast, linear, and the source
of the prefilter's triggers), and the rare ``regex`` clause runs with a timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .events import Event

KINDS = ("traceback", "http", "git", "message")
DEFAULT_EVENTS = ("traceback", "message")
REGEX_TIMEOUT = 0.25          # seconds per regex evaluation on one event
_LIST_CLAUSES = ("exception", "exception_last", "message", "message_all", "text", "text_all",
                 "not_text", "x_error_code", "url", "method", "status")
_CLAUSES = (*_LIST_CLAUSES, "event", "regex", "host", "authenticated")
_VAR = re.compile(r"\{([a-z_][a-z0-9_]{0,40})\}")


class RuleError(ValueError):
    """A rule file that cannot be used: names the file, the rule and the field."""

    def __init__(self, path: str, rule_id: str | None, field_name: str | None, why: str) -> None:
        self.path, self.rule_id, self.field, self.why = path, rule_id, field_name, why
        where = path + (f": rule {rule_id}" if rule_id else "") + (f": field '{field_name}'" if field_name else "")
        super().__init__(f"{where}: {why}")


@dataclass
class Rule:
    id: str
    cause: str
    title: str
    match: dict[str, Any]
    confidence: float
    fix: dict[str, Any]
    path: str = ""
    description: str = ""
    extract: dict[str, str] = field(default_factory=dict)
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    confirm: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)
    applies_to: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def events(self) -> tuple[str, ...]:
        ev = self.match.get("event", DEFAULT_EVENTS)
        return (ev,) if isinstance(ev, str) else tuple(ev)

    @property
    def literals(self) -> list[str]:
        """Literal strings any matching event must contain (for the prefilter)."""
        out: list[str] = []
        for key in ("message", "message_all", "text", "text_all"):
            out.extend(self.match.get(key, []))
        out.extend(self.raw.get("trigger", []))
        return out

    @property
    def specificity(self) -> int:
        return sum(1 for k in self.match if k != "event")


@dataclass
class Hit:
    """One rule holding on one event."""

    rule: Rule
    event: Event
    exception: str | None
    lines: list[int]
    variables: dict[str, str]


# -- loading ---------------------------------------------------------------------------------
def builtin_dir() -> Path:
    """Rules shipped in the wheel (analyzer/_rules) or, in a checkout, the repo's rules/."""
    here = Path(__file__).resolve().parent
    installed = here / "_rules"
    return installed if installed.is_dir() else here.parent / "rules"


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.yaml") if p.name != "causes.yaml")


def _yaml_load(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def load_causes(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    path = (directory or builtin_dir()) / "causes.yaml"
    data = _yaml_load(path.read_text(encoding="utf-8"))
    return {c["id"]: c for c in data["causes"]}


def load_schema() -> dict[str, Any]:
    return json.loads((builtin_dir() / "schema.json").read_text(encoding="utf-8"))


def schema_errors(data: Any) -> list[tuple[str | None, str]]:
    """Every way one rule departs from rules/schema.json: (field path, why)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [(".".join(str(p) for p in e.absolute_path) or None, e.message) for e in errors]


def check_schema(data: Any, path: str) -> None:
    """Validate one rule against rules/schema.json, the format's single source of truth."""
    errors = schema_errors(data)
    if errors:
        rid = data.get("id") if isinstance(data, dict) else None
        where, why = errors[0]
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise RuleError(path, rid if isinstance(rid, str) else None, where, why + more)


def parse_rule(data: Any, path: str, causes: dict[str, Any] | None = None) -> Rule:
    """Build a :class:`Rule`; with ``causes`` (user rules) validate it against the schema first."""
    if causes is not None:
        check_schema(data, path)
    if not isinstance(data, dict):
        raise RuleError(path, None, None, "a rule file must hold one mapping")
    rid = data.get("id")
    if not isinstance(rid, str) or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", rid):
        raise RuleError(path, None, "id", "required, kebab-case")
    for key in ("cause", "title"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise RuleError(path, rid, key, "required, a non-empty string")
    if causes is not None and data["cause"] not in causes:
        raise RuleError(path, rid, "cause", f"unknown cause id {data['cause']!r} (see causes.yaml)")
    match = data.get("match")
    if not isinstance(match, dict) or not match:
        raise RuleError(path, rid, "match", "required, a mapping of clauses")
    for key, value in match.items():
        if key not in _CLAUSES:
            raise RuleError(path, rid, f"match.{key}", f"unknown clause; known: {', '.join(_CLAUSES)}")
        if key in _LIST_CLAUSES:
            if not isinstance(value, list) or not value:
                raise RuleError(path, rid, f"match.{key}", "must be a non-empty list")
            kind = int if key == "status" else str
            if not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
                raise RuleError(path, rid, f"match.{key}", f"items must be {kind.__name__}s")
    events = match.get("event", list(DEFAULT_EVENTS))
    events = [events] if isinstance(events, str) else events
    if not isinstance(events, list) or not set(events) <= set(KINDS):
        raise RuleError(path, rid, "match.event", f"must be one or more of {', '.join(KINDS)}")
    if match.get("host", "hub") not in ("hub", "other", "any"):
        raise RuleError(path, rid, "match.host", "must be hub, other or any")
    for key in ("regex",):
        if key in match:
            _check_regex(path, rid, f"match.{key}", match[key])
    extract = data.get("extract") or {}
    for name, pattern in extract.items():
        _check_regex(path, rid, f"extract.{name}", pattern)
        if f"(?P<{name}>" not in pattern:
            raise RuleError(path, rid, f"extract.{name}", f"pattern needs a named group (?P<{name}>…)")
    conf = data.get("confidence")
    if not isinstance(conf, (int, float)) or isinstance(conf, bool) or not 0 <= conf <= 1:
        raise RuleError(path, rid, "confidence", "required, a number from 0 to 1")
    fix = data.get("fix")
    if not isinstance(fix, dict) or not isinstance(fix.get("summary"), str):
        raise RuleError(path, rid, "fix", "required, a mapping with at least 'summary'")
    for key in ("steps", "commands", "links"):
        if not isinstance(fix.get(key, []), list):
            raise RuleError(path, rid, f"fix.{key}", "must be a list of strings")
    for alt in data.get("alternatives", []) or []:
        if not isinstance(alt, dict) or "cause" not in alt:
            raise RuleError(path, rid, "alternatives", "items need a 'cause'")
        if causes is not None and alt["cause"] not in causes:
            raise RuleError(path, rid, "alternatives", f"unknown cause id {alt['cause']!r}")
    examples = data.get("examples") or {}
    if not isinstance(examples, dict):
        raise RuleError(path, rid, "examples", "must map 'match' and 'no_match' to lists of log excerpts")
    return Rule(
        id=rid, cause=data["cause"], title=data["title"].strip(), match=match, confidence=float(conf),
        fix=fix, path=path, description=" ".join((data.get("description") or "").split()), extract=extract,
        alternatives=list(data.get("alternatives") or []), confirm=list(data.get("confirm") or []),
        references=list(data.get("references") or []),
        examples={k: list(v or []) for k, v in examples.items()}, applies_to=dict(data.get("applies_to") or {}),
        sources=list(data.get("sources") or []), raw=data,
    )


def _check_regex(path: str, rid: str, field_name: str, pattern: Any) -> None:
    if not isinstance(pattern, str):
        raise RuleError(path, rid, field_name, "must be a regular expression string")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RuleError(path, rid, field_name, f"invalid regular expression: {exc}") from None


def _cache_path(key: str) -> Path | None:
    if os.environ.get("HFEXPLAIN_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hfexplain" / f"rules-{key}.json"


def load_rules(extra_dirs: list[str | Path] | None = None, *, validate: bool = False) -> list[Rule]:
    """Built-in rules plus those in ``extra_dirs`` (and HFEXPLAIN_RULES_PATH); later ids override.

    Built-in rules are validated by the test suite and served from a JSON cache keyed by the
    rule files' content; user rules are always validated against the cause catalogue.
    """
    dirs: list[tuple[Path, bool]] = [(builtin_dir(), validate)]
    env = os.environ.get("HFEXPLAIN_RULES_PATH", "")
    for d in [*plugin_dirs(), *(p for p in env.split(os.pathsep) if p), *(extra_dirs or [])]:
        dirs.append((Path(d), True))
    causes: dict[str, Any] | None = None
    by_id: dict[str, Rule] = {}
    for directory, check in dirs:
        if not directory.is_dir():
            raise RuleError(str(directory), None, None, "not a directory of rules")
        if check and causes is None:
            causes = load_causes()
        for rule in _load_dir(directory, causes if check else None):
            by_id[rule.id] = rule
    return list(by_id.values())


def plugin_dirs() -> list[Path]:
    """Rule packs installed with pip: entry points of group ``hfexplain.rules``.

    Each entry point names a module (its folder holds the rule files) or a callable returning
    a folder. Set HFEXPLAIN_NO_PLUGINS=1 to ignore them.
    """
    if os.environ.get("HFEXPLAIN_NO_PLUGINS"):
        return []
    from importlib.metadata import entry_points

    try:
        eps = entry_points(group="hfexplain.rules")
    except TypeError:                      # Python 3.9
        eps = entry_points().get("hfexplain.rules", [])  # type: ignore[attr-defined]
    out = []
    for ep in eps:
        try:
            obj = ep.load()
            path = Path(obj()) if callable(obj) else Path(obj.__file__).parent  # type: ignore[union-attr]
        except Exception as exc:
            raise RuleError(f"entry point {ep.name} ({ep.value})", None, None, f"cannot load: {exc}") from None
        out.append(path)
    return out


def _load_dir(directory: Path, causes: dict[str, Any] | None) -> list[Rule]:
    files = rule_files(directory)
    blobs = [(str(p), p.read_bytes()) for p in files]
    digest = hashlib.sha256()
    for name, blob in blobs:
        digest.update(name.encode() + b"\0" + blob + b"\0")
    cache = _cache_path(digest.hexdigest()[:32]) if causes is None else None
    if cache is not None:
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            return [parse_rule(d, p) for p, d in data]
        except (OSError, ValueError, KeyError, TypeError, RuleError):
            pass          # missing, stale or corrupt: rebuild below
    loaded = []
    for name, blob in blobs:
        try:
            data = _yaml_load(blob.decode("utf-8"))
        except Exception as exc:    # yaml.YAMLError, UnicodeDecodeError: name the file
            raise RuleError(name, None, None, f"not valid YAML: {str(exc).splitlines()[0]}") from None
        loaded.append((name, data))
    rules = [parse_rule(d, p, causes) for p, d in loaded]
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(loaded), encoding="utf-8")
            os.replace(tmp, cache)
        except OSError:
            pass
    return rules


# -- matching --------------------------------------------------------------------------------
def _contains_any(hay: str, needles: list[str]) -> str | None:
    for n in needles:
        if n in hay:
            return n
    return None


def match(rule: Rule, event: Event) -> Hit | None:
    """The rule's verdict on one event: a :class:`Hit`, or None when any clause fails."""
    m = rule.match
    if event.kind not in rule.events:
        return None
    f = event.fields
    found: list[str] = []          # literals that matched, to locate evidence lines
    exc_name: str | None = None
    if "status" in m and not set(m["status"]) & set(f.get("statuses") or [f.get("status")]):
        return None
    host = m.get("host", "hub" if event.kind in ("http", "git") else "any")
    if host != "any":
        from .hub import is_hub_host

        if is_hub_host(f.get("host")) != (host == "hub"):
            return None
    if "authenticated" in m and f.get("authenticated") is not m["authenticated"]:
        return None
    if "x_error_code" in m and f.get("x_error_code") not in m["x_error_code"]:
        return None
    if "method" in m and f.get("method") not in m["method"]:
        return None
    if "url" in m and not _contains_any(f.get("url") or "", m["url"]):
        return None
    if "exception" in m:
        exc = next((e for e in event.exceptions for n in m["exception"] if e.is_a(n)), None)
        if exc is None:
            return None
        exc_name = exc.type
    if "exception_last" in m:
        if not event.exceptions or not any(event.exceptions[-1].is_a(n) for n in m["exception_last"]):
            return None
        exc_name = exc_name or event.exceptions[-1].type
    message = event.message
    if "message" in m:
        hit = _contains_any(message, m["message"])
        if hit is None:
            return None
        found.append(hit)
    if "message_all" in m:
        if not all(n in message for n in m["message_all"]):
            return None
        found.extend(m["message_all"])
    text = event.text
    if "text" in m:
        hit = _contains_any(text, m["text"])
        if hit is None:
            return None
        found.append(hit)
    if "text_all" in m:
        if not all(n in text for n in m["text_all"]):
            return None
        found.extend(m["text_all"])
    if "not_text" in m and _contains_any(text, m["not_text"]) is not None:
        return None
    variables: dict[str, str] = {}
    if "regex" in m:
        rm = _search(m["regex"], text)
        if rm is None:
            return None
        variables.update({k: v for k, v in rm.groupdict().items() if v})
        found.append(rm.group(0).split("\n", 1)[0])
    for name, pattern in rule.extract.items():
        em = _search(pattern, text)
        if em is not None and em.group(name):
            variables[name] = em.group(name)
    if exc_name is None and event.exceptions:
        # The exception whose message holds what matched; else the last one printed.
        exc_name = next((e.type for e in event.exceptions if any(s in e.message for s in found)),
                        event.exceptions[-1].type)
    return Hit(rule, event, exc_name, _evidence_lines(event, found, exc_name), variables)


_COMPILED: dict[str, Any] = {}


def _search(pattern: str, text: str) -> Any:
    """Search with the ``regex`` module and a timeout: no rule can hang a run."""
    import regex

    compiled = _COMPILED.get(pattern)
    if compiled is None:
        compiled = _COMPILED[pattern] = regex.compile(pattern)
    try:
        return compiled.search(text, timeout=REGEX_TIMEOUT)
    except TimeoutError:
        return None


def _evidence_lines(event: Event, found: list[str], exc_name: str | None) -> list[int]:
    lines: list[int] = []
    for lineno, row in event.rows:
        hit = any(s and s in row for s in found) or (exc_name and row.startswith(exc_name))
        if hit and lineno not in lines:
            lines.append(lineno)
    if not lines:
        lines = [event.exceptions[-1].lineno] if event.exceptions else [event.first_line]
    return lines[:20]


def render_template(template: str, variables: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders; nothing else is interpreted (no attribute access, no code)."""
    return _VAR.sub(lambda m: variables.get(m.group(1), "<" + m.group(1).replace("_", " ") + ">"), template)
