"""Rules as Sigma detections, so log platforms can run them across a fleet.

Each hfexplain rule becomes one Sigma rule (``rules export --format sigma``). The fields are
hfexplain's event fields — map them onto your platform's with a pySigma processing pipeline:

    message        the event text (a traceback's exception lines and messages, a log line)
    exception      exception class names of a traceback's chain
    status         HTTP status        url     the request URL        method   HTTP method
    x_error_code   the Hub's X-Error-Code header       authenticated   a token was sent

A rule's logsource is ``product: huggingface`` with its event kinds as ``service``. The Sigma id
is a UUID derived from the rule id, so it is stable across exports.
"""

from __future__ import annotations

import uuid

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from typing import Any

    from .rules import Rule

NAMESPACE = uuid.UUID("5b7d3a52-1d3c-4d7e-9a38-6c1e2f0b9a11")
HUB_HOSTS = ["huggingface.co", "hf.co", "hf-mirror.com"]


def to_sigma(rule: Rule, cause_title: str = "") -> dict[str, Any]:
    """One Sigma rule (a dict ready for YAML) from one hfexplain rule."""
    m = rule.match
    selection: dict[str, Any] = {}
    for key in ("message", "text"):
        if key in m:
            selection.setdefault("message|contains", []).extend(m[key])
    for key in ("message_all", "text_all"):
        if key in m:
            selection.setdefault("message|contains|all", []).extend(m[key])
    for key in ("exception", "exception_last"):
        if key in m:
            selection.setdefault("exception|endswith", []).extend(m[key])
    if "status" in m:
        selection["status"] = list(m["status"])
    if "x_error_code" in m:
        selection["x_error_code"] = list(m["x_error_code"])
    if "method" in m:
        selection["method"] = list(m["method"])
    if "url" in m:
        selection["url|contains"] = list(m["url"])
    if "authenticated" in m:
        selection["authenticated"] = bool(m["authenticated"])
    if "regex" in m:
        selection["message|re"] = m["regex"]
    detection: dict[str, Any] = {"selection": selection}
    condition = ["selection"]
    host = m.get("host", "hub" if set(rule.events) & {"http", "git"} else "any")
    if host == "hub":
        detection["hub"] = {"url|contains": HUB_HOSTS}
        condition.append("hub")
    elif host == "other":
        detection["filter_hub"] = {"url|contains": HUB_HOSTS}
    if "not_text" in m:
        detection["filter"] = {"message|contains": list(m["not_text"])}
    cond = " and ".join(condition)
    for name in ("filter_hub", "filter"):
        if name in detection:
            cond += f" and not {name}"
    detection["condition"] = cond
    out: dict[str, Any] = {
        "title": rule.title.replace("{", "<").replace("}", ">"),
        "id": str(uuid.uuid5(NAMESPACE, rule.id)),
        "status": "stable" if rule.confidence >= 0.85 else "test",
        "description": (rule.description or cause_title or rule.title).strip(),
        "references": list(rule.references),
        "author": "hfexplain",
        "tags": [f"hfexplain.{rule.cause}"],
        "logsource": {"product": "huggingface", "service": "-".join(sorted(rule.events))},
        "detection": detection,
        "fields": ["message", "url", "status"],
        "falsepositives": ["none known: the rule's own no_match examples and a healthy-log corpus are tested"],
        "level": "high" if rule.confidence >= 0.85 else "medium" if rule.confidence >= 0.6 else "low",
    }
    if not out["references"]:
        del out["references"]
    return out


def export(rules: list[Rule], causes: dict[str, Any]) -> str:
    """All rules as one multi-document Sigma YAML stream."""
    import yaml

    docs = [to_sigma(r, causes.get(r.cause, {}).get("title", "")) for r in sorted(rules, key=lambda r: r.id)]
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=120)
