"""Cause rules: loading, validation of the shapes we rely on, and matching one event.

A rule is data (one YAML file, see ``rules/schema.json``). Its ``match`` clauses all must
hold on one event; literal clauses are plain substring tests (fast, linear, and the source
of the prefilter's triggers), and the rare ``regex`` clause runs with a timeout.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .events import Event

KINDS = ("traceback", "http", "git", "message")
DEFAULT_EVENTS = ("traceback", "message")
REGEX_TIMEOUT = 0.25          # seconds per regex evaluation on one event
_LIST_CLAUSES = ("exception", "exception_last", "message", "message_all", "text", "text_all",
                 "not_text", "x_error_code", "url", "method", "status")
_CLAUSES = (*_LIST_CLAUSES, "event", "regex", "host", "authenticated")


class RuleError(ValueError):
    """A rule file that cannot be used: names the file, the rule and the field."""

    def __init__(self, path: str, rule_id: str | None, field_name: str | None, why: str) -> None:
        self.path, self.rule_id, self.field, self.why = path, rule_id, field_name, why
        where = path + (f": rule {rule_id}" if rule_id else "") + (f": field '{field_name}'" if field_name else "")
        super().__init__(f"{where}: {why}")


class Rule:
    """One rule file, checked and ready to match (see rules/schema.json for the format)."""

    def __init__(self, id: str, cause: str, title: str, match: dict[str, Any], confidence: float,
                 fix: dict[str, Any], path: str = "", description: str = "", extract: dict[str, str] | None = None,
                 alternatives: list[dict[str, Any]] | None = None, confirm: list[str] | None = None,
                 references: list[str] | None = None, examples: dict[str, list[str]] | None = None,
                 applies_to: dict[str, str] | None = None, sources: list[str] | None = None,
                 raw: dict[str, Any] | None = None) -> None:
        self.id, self.cause, self.title, self.match, self.confidence = id, cause, title, match, confidence
        self.fix, self.path, self.description = fix, path, description
        self.extract = extract or {}
        self.alternatives = alternatives or []
        self.confirm = confirm or []
        self.references = references or []
        self.examples = examples or {}
        self.applies_to = applies_to or {}
        self.sources = sources or []
        self.raw = raw or {}
        self._events: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return f"Rule({self.id!r})"

    @property
    def events(self) -> tuple[str, ...]:
        """The event kinds the rule applies to (computed once: matching asks for every event)."""
        if self._events is None:
            ev = self.match.get("event", DEFAULT_EVENTS)
            self._events = (ev,) if isinstance(ev, str) else tuple(ev)
        return self._events

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


class Hit:
    """One rule holding on one event."""

    __slots__ = ("event", "exception", "lines", "rule", "variables")

    def __init__(self, rule: Rule, event: Event, exception: str | None, lines: list[int],
                 variables: dict[str, str]) -> None:
        self.rule, self.event, self.exception, self.lines, self.variables = rule, event, exception, lines, variables


# -- loading ---------------------------------------------------------------------------------
def builtin_dir() -> str:
    """Rules shipped in the wheel (analyzer/_rules) or, in a checkout, the repo's rules/."""
    here = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(here, "_rules")
    return installed if os.path.isdir(installed) else os.path.join(os.path.dirname(here), "rules")


def rule_files(directory: str | Path) -> list[Path]:
    from pathlib import Path

    return sorted(p for p in Path(directory).rglob("*.yaml") if p.name != "causes.yaml")


def _rule_paths(directory: str) -> list[str]:
    """The rule files below a folder, sorted (os.walk: no pathlib on the fast path)."""
    out = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        out.extend(os.path.join(root, f) for f in files if f.endswith(".yaml") and f != "causes.yaml")
    return sorted(out)


MAX_YAML_DEPTH = 32           # rule files are shallow; a deeper one is refused before it is built


def _yaml_load(text: str) -> Any:
    """Plain data only: the safe loader (no tag builds a Python object), no aliases (a few lines of
    ``*name`` expand to billions of nodes), no nesting deeper than :data:`MAX_YAML_DEPTH` (which
    overflows the C stack of libyaml's composer) — each checked on the event stream first."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ValueError(f"nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            raise ValueError("YAML aliases (*name) are not allowed in a rule file")
    return yaml.load(text, Loader=loader)


def load_causes(directory: str | None = None) -> dict[str, dict[str, Any]]:
    with open(os.path.join(directory or builtin_dir(), "causes.yaml"), encoding="utf-8") as fh:
        data = _yaml_load(fh.read())
    return {c["id"]: c for c in data["causes"]}


def load_schema() -> dict[str, Any]:
    import json

    with open(os.path.join(builtin_dir(), "schema.json"), encoding="utf-8") as fh:
        return json.load(fh)


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
    import re

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
    return _build(data, path)


def _build(data: dict[str, Any], path: str) -> Rule:
    """A Rule from checked data (parse_rule's checks passed, or our own cache wrote it)."""
    return Rule(
        id=data["id"], cause=data["cause"], title=data["title"].strip(), match=data["match"],
        confidence=float(data["confidence"]), fix=data["fix"], path=path,
        description=" ".join((data.get("description") or "").split()), extract=data.get("extract") or {},
        alternatives=list(data.get("alternatives") or []), confirm=list(data.get("confirm") or []),
        references=list(data.get("references") or []),
        examples={k: list(v or []) for k, v in (data.get("examples") or {}).items()},
        applies_to=dict(data.get("applies_to") or {}), sources=list(data.get("sources") or []), raw=data,
    )


def _check_regex(path: str, rid: str, field_name: str, pattern: Any) -> None:
    import re

    if not isinstance(pattern, str):
        raise RuleError(path, rid, field_name, "must be a regular expression string")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RuleError(path, rid, field_name, f"invalid regular expression: {exc}") from None


def load_rules(extra_dirs: list[str | Path] | None = None, *, validate: bool = False,
               examples: bool = False) -> list[Rule]:
    """Built-in rules plus packs, HFEXPLAIN_RULES_PATH and ``extra_dirs``; a later id overrides.

    Built-in rules are validated by the test suite and served from a cache keyed by the rule
    files' content, without their examples (``examples=True`` reads them, for the commands that
    show or export rules); user rules are always read and validated against the schema and the
    cause catalogue.
    """
    dirs: list[tuple[str, bool]] = [(builtin_dir(), validate)]
    dirs.extend((d, True) for d in user_dirs(extra_dirs))
    causes: dict[str, Any] | None = None
    by_id: dict[str, Rule] = {}
    for directory, check in dirs:
        if not os.path.isdir(directory):
            raise RuleError(directory, None, None, "not a directory of rules")
        if check and causes is None:
            causes = load_causes()
        for rule in _load_dir(directory, causes if check else None, examples):
            by_id[rule.id] = rule
    return list(by_id.values())


def user_dirs(extra_dirs: list[str | Path] | None = None) -> list[str]:
    """Rule folders beyond the built-in one: packs, then HFEXPLAIN_RULES_PATH, then ``extra_dirs``."""
    env = os.environ.get("HFEXPLAIN_RULES_PATH", "")
    return [str(d) for d in [*plugin_dirs(), *(p for p in env.split(os.pathsep) if p), *(extra_dirs or [])]]


class RuleSet:
    """The rules of one run, built only when an input needs them.

    With the built-in rules alone (the usual case) the trigger literals come from a cache keyed by
    the rule files' content, so an input that contains none is answered without building a rule.
    Other folders are loaded and validated at once: a broken rule file is reported whatever the input.
    """

    def __init__(self, extra_dirs: list[str | Path] | None = None) -> None:
        self._rules = load_rules(extra_dirs) if user_dirs(extra_dirs) else None
        self._literals: list[str] | None = None
        self._files: tuple[str, list[tuple[str, bytes]]] | None = None

    @property
    def rules(self) -> list[Rule]:
        if self._rules is None:
            loaded = _load_dir(builtin_dir(), None, files=self._builtin_files())
            self._rules = list({r.id: r for r in loaded}.values())
        return self._rules

    def _builtin_files(self) -> tuple[str, list[tuple[str, bytes]]]:
        if self._files is None:
            self._files = _read_dir(builtin_dir())
        return self._files

    @property
    def literals(self) -> list[str]:
        if self._literals is None:
            from .triggers import all_literals

            if self._rules is not None:
                self._literals = all_literals(self._rules)
            else:
                from . import cache

                key = self._builtin_files()[0]
                self._literals = cache.marshalled(f"triggers-{key}.marshal", lambda: all_literals(self.rules),
                                                  lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v))
        return self._literals


def plugin_dirs() -> list[str]:
    """Rule packs installed with pip: entry points of group ``hfexplain.rules``.

    Each entry point names a module (its folder holds the rule files) or a callable returning
    a folder. The entry-point scan (slow: it reads every installed distribution) is cached
    until a folder on sys.path changes. HFEXPLAIN_NO_PLUGINS=1 ignores packs.
    """
    if os.environ.get("HFEXPLAIN_NO_PLUGINS"):
        return []
    import sys
    import zlib

    from . import cache

    stamp = []
    for entry in sys.path:
        if not entry:                  # the working directory ('' for -c): not where packs install
            continue
        try:
            stamp.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
        except OSError:
            continue
    key = f"{zlib.crc32(chr(0).join(stamp).encode()):08x}"
    found = cache.marshalled(f"plugins-{key}.marshal", _entry_points, lambda v: isinstance(v, list) and all(
        isinstance(x, tuple) and len(x) == 2 and all(isinstance(y, str) for y in x) for x in v))
    out = []
    for name, value in found:
        module, _, attr = value.partition(":")
        try:
            import importlib

            obj = importlib.import_module(module)
            for part in filter(None, attr.split(".")):
                obj = getattr(obj, part)
            out.append(str(obj()) if callable(obj) else os.path.dirname(obj.__file__))  # type: ignore[union-attr]
        except Exception as exc:
            raise RuleError(f"entry point {name} ({value})", None, None, f"cannot load: {exc}") from None
    return out


def _entry_points() -> list[tuple[str, str]]:
    from importlib.metadata import entry_points

    try:
        eps = entry_points(group="hfexplain.rules")
    except TypeError:                      # Python 3.9
        eps = entry_points().get("hfexplain.rules", [])  # type: ignore[attr-defined]
    return sorted({(ep.name, ep.value) for ep in eps})


def _read_dir(directory: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A folder's rule files, and a cache key made of their names and content."""
    import zlib

    blobs = []
    for name in _rule_paths(directory):
        with open(name, "rb") as fh:
            blobs.append((name, fh.read()))
    crc = 0
    for name, blob in blobs:
        crc = zlib.crc32(blob, zlib.crc32(name.encode() + b"\0", crc))
    return f"{crc:08x}-{sum(len(b) for _, b in blobs):x}", blobs


def _load_dir(directory: str, causes: dict[str, Any] | None, examples: bool = False,
              files: tuple[str, list[tuple[str, bytes]]] | None = None) -> list[Rule]:
    key, blobs = files or _read_dir(directory)

    def parse_all() -> list[tuple[str, Any]]:
        loaded = []
        for name, blob in blobs:
            try:
                data = _yaml_load(blob.decode("utf-8"))
            except Exception as exc:    # yaml.YAMLError, UnicodeDecodeError: name the file
                raise RuleError(name, None, None, f"not valid YAML: {str(exc).splitlines()[0]}") from None
            parse_rule(data, name, causes)          # only checked data is ever cached
            loaded.append((name, data))
        return loaded

    if causes is not None or examples:  # user rules are always parsed and validated
        return [parse_rule(d, p, causes) for p, d in parse_all()]

    def without_examples() -> list[tuple[str, Any]]:   # a run never needs them: a smaller, faster cache
        return [(p, {k: v for k, v in d.items() if k != "examples"}) for p, d in parse_all()]

    from . import cache

    loaded = cache.marshalled(f"rules-{key}.marshal", without_examples, lambda v: isinstance(v, list) and all(
        isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) and isinstance(x[1], dict) for x in v))
    try:
        return [_build(d, p) for p, d in loaded]
    except (ValueError, KeyError, TypeError, AttributeError):
        return [parse_rule(d, p) for p, d in parse_all()]      # a corrupt cache entry


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
        rm = _search(m["regex"], text, rule.id)
        if rm is None:
            return None
        variables.update({k: v for k, v in rm.groupdict().items() if v})
        found.append(rm.group(0).split("\n", 1)[0])
    for name, pattern in rule.extract.items():
        em = _search(pattern, text, rule.id)
        if em is not None and em.group(name):
            variables[name] = em.group(name)
    if exc_name is None and event.exceptions:
        # The exception whose message holds what matched; else the last one printed.
        exc_name = next((e.type for e in event.exceptions if any(s in e.message for s in found)),
                        event.exceptions[-1].type)
    return Hit(rule, event, exc_name, _evidence_lines(event, found, exc_name), variables)


_COMPILED: dict[str, Any] = {}
TIMED_OUT: dict[str, int] = {}     # rule id -> regex evaluations that hit REGEX_TIMEOUT (the CLI warns)
MAX_TIMEOUTS = 3                   # after this many, the rule's patterns are no longer run at all


def _search(pattern: str, text: str, rule_id: str = "?") -> Any:
    """Search with the ``regex`` module and a timeout: no rule can hang a run.

    A pattern that times out counts as not matching; a rule whose patterns timed out
    :data:`MAX_TIMEOUTS` times is not run again, so a log of many events costs at most that.
    """
    if TIMED_OUT.get(rule_id, 0) >= MAX_TIMEOUTS:
        return None
    import regex

    compiled = _COMPILED.get(pattern)
    if compiled is None:
        compiled = _COMPILED[pattern] = regex.compile(pattern)
    try:
        return compiled.search(text, timeout=REGEX_TIMEOUT)
    except TimeoutError:
        TIMED_OUT[rule_id] = TIMED_OUT.get(rule_id, 0) + 1
        return None


def _evidence_lines(event: Event, found: list[str], exc_name: str | None) -> list[int]:
    lines: list[int] = []
    frames_too = event.kind != "traceback"      # a traceback's evidence is its exception lines, not frames
    for lineno, row in event.rows:
        if not frames_too and row[:1] in (" ", "\t"):
            continue
        hit = any(s and s in row for s in found) or (exc_name and row.startswith(exc_name))
        if hit and lineno not in lines:
            lines.append(lineno)
    if not lines:
        lines = [event.exceptions[-1].lineno] if event.exceptions else [event.first_line]
    return lines[:20]


def render_template(template: str, variables: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders; nothing else is interpreted (no attribute access, no code)."""
    import re

    def fill(m: Any) -> str:
        return variables.get(m.group(1), "<" + m.group(1).replace("_", " ") + ">")

    return re.sub(r"\{([a-z_][a-z0-9_]{0,40})\}", fill, template)
