"""Events: what rules match against (design §3).

An event is one traceback (with its whole exception chain), one HTTP exchange, one git/git-lfs
exchange or one printed message, with the original line numbers and the fields rules and
fixes need. Fields are derived once, when the event closes.
"""

from __future__ import annotations

import re

from . import hub
from .lazyre import compile_lazily

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from typing import Any

MAX_ROWS = 400        # rows kept per event (a 200 000-frame traceback keeps its edges)
MAX_FRAMES = 40
MAX_EXCEPTIONS = 60


class Exc:
    """One exception of a chain, as printed."""

    __slots__ = ("frames", "lineno", "message", "type")

    def __init__(self, type: str, message: str, lineno: int, frames: list[str] | None = None) -> None:
        self.type, self.message, self.lineno = type, message, lineno
        self.frames = frames if frames is not None else []

    def __repr__(self) -> str:
        return f"Exc({self.type!r}, line {self.lineno})"

    @property
    def short(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    def is_a(self, name: str) -> bool:
        return self.type == name or self.short == name or self.type.endswith("." + name)


class Event:
    """One event; ``fields`` are derived by :func:`derive_fields` when it closes."""

    __slots__ = ("dropped_rows", "exceptions", "fields", "input", "kind", "prefix", "rows")

    def __init__(self, kind: str, rows: list[tuple[int, str]], exceptions: list[Exc] | None = None,
                 fields: dict[str, Any] | None = None, prefix: str = "", input: str = "-",
                 dropped_rows: int = 0) -> None:
        self.kind = kind                        # traceback | http | git | message
        self.rows = rows                        # (line number, text without per-line prefix)
        self.exceptions = exceptions if exceptions is not None else []
        self.fields = fields if fields is not None else {}
        self.prefix = prefix                    # per-line prefix the event carried ("[rank0]: ")
        self.input = input
        self.dropped_rows = dropped_rows

    def __repr__(self) -> str:
        return f"Event({self.kind!r}, lines {self.first_line}-{self.last_line})"

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


_RANK = compile_lazily(r"\b(?:rank|default)\s?(\d{1,5})\b", re.IGNORECASE)
_RANK_NAME = compile_lazily(r"(?:^|[^a-z0-9])rank[_-]?(\d{1,5})(?!\d)", re.IGNORECASE)
_TORCHRUN = compile_lazily(r"attempt_\d+[/\\](\d{1,5})[/\\](?:stdout|stderr)\.log$")


def rank_of(path: str) -> int | None:
    """The rank a per-rank log's name gives (``rank3.log``, torchrun's ``attempt_0/3/stderr.log``)."""
    m = _TORCHRUN.search(path) or _RANK_NAME.search(path.replace("\\", "/").rsplit("/", 1)[-1])
    return int(m.group(1)) if m else None


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
    if "repo_type" not in f and ("Dataset '" in text or "for dataset '" in text):
        f["repo_type"] = "dataset"          # datasets names the repo in its message, not a URL
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
