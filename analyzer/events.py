"""Events: what rules match against (design §3).

An event is one traceback (with its whole exception chain), one HTTP exchange, one git/git-lfs
exchange or one printed message, with the original line numbers and the fields rules and
fixes need. Fields are derived once, when the event closes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import hub

MAX_ROWS = 400        # rows kept per event (a 200 000-frame traceback keeps its edges)
MAX_FRAMES = 40
MAX_EXCEPTIONS = 60


@dataclass
class Exc:
    """One exception of a chain, as printed."""

    type: str
    message: str
    lineno: int
    frames: list[str] = field(default_factory=list)

    @property
    def short(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    def is_a(self, name: str) -> bool:
        return self.type == name or self.short == name or self.type.endswith("." + name)


@dataclass
class Event:
    kind: str                                   # traceback | http | git | message
    rows: list[tuple[int, str]]                 # (line number, text without per-line prefix)
    exceptions: list[Exc] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""                            # per-line prefix the event carried ("[rank0]: ")
    input: str = "-"
    dropped_rows: int = 0

    @property
    def first_line(self) -> int:
        return self.rows[0][0] if self.rows else 0

    @property
    def last_line(self) -> int:
        return self.rows[-1][0] if self.rows else 0

    @property
    def text(self) -> str:
        cached = self.fields.get("_text")
        if cached is None:
            cached = self.fields["_text"] = "\n".join(t for _, t in self.rows)
        return cached

    @property
    def message(self) -> str:
        """Exception lines and messages only (a traceback's frames and code excluded)."""
        if self.kind != "traceback":
            return self.text
        cached = self.fields.get("_message")
        if cached is None:
            cached = self.fields["_message"] = "\n".join(
                f"{e.type}: {e.message}" if e.message else e.type for e in self.exceptions
            )
        return cached


_RANK = re.compile(r"\b(?:rank|default)\s?(\d{1,5})\b", re.IGNORECASE)


def derive_fields(event: Event) -> None:
    """Fill ``event.fields`` from its text: statuses, URLs, repo ids, request id, rank."""
    f = event.fields
    text = event.message if event.kind == "traceback" else event.text
    if event.kind == "traceback":
        # The repo and status of the root cause come first: search the chain in printed order.
        text = "\n".join([text, *(t for _, t in event.rows)])
    statuses = hub.statuses_in(text)
    if "status" in f and f["status"] not in statuses:
        statuses.insert(0, f["status"])
    f["statuses"] = statuses
    f.setdefault("status", statuses[0] if statuses else None)
    hub_urls = [u for u in hub.urls(text) if hub.is_hub_host(hub.parse_url(u).get("host"))]
    if "url" not in f:
        f["url"] = next((u for u in hub_urls if hub.repo_from_url(u)), hub_urls[0] if hub_urls else None)
    repo_ids = hub.repo_ids_in(text)
    if f.get("url"):
        info = hub.parse_url(f["url"])
        f.setdefault("host", info.get("host"))
        for key in ("repo_type", "revision", "filename"):
            if key in info:
                f.setdefault(key, info[key])
        if info.get("repo_id") and hub.is_hub_host(info.get("host")) and info["repo_id"] not in repo_ids:
            repo_ids.insert(0, info["repo_id"])
    f["repo_ids"] = repo_ids
    f.setdefault("repo_id", repo_ids[0] if repo_ids else None)
    f.setdefault("request_id", hub.request_id(text))
    f["request_date"] = hub.request_date(f.get("request_id"))
    if event.prefix:
        m = _RANK.search(event.prefix)
        if m:
            f["rank"] = int(m.group(1))
    if event.exceptions:
        f["exception"] = event.exceptions[-1].type
        f["exceptions"] = [e.type for e in event.exceptions]
