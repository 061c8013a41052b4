"""What a piece of log text says about the Hub: repo ids, URLs, statuses, request ids.

Pure text functions with stdlib ``re`` only; every pattern here is anchored or bounded so it
runs in linear time on any line.
"""

from __future__ import annotations

import re
import time

from .lazyre import compile_lazily

# Hosts whose 401/403 are ours. Mirrors set through HF_ENDPOINT are recognised by message shape.
HUB_HOSTS = ("huggingface.co", "hf.co", "hf-mirror.com")

_NAME = r"[A-Za-z0-9][\w.-]{0,95}"
_URL = re.compile(r"https?://[^\s'\"<>()\[\]{}\\]{1,2000}")
_REPO_PATH = re.compile(
    rf"^/(?:api/(?P<api_type>models|datasets|spaces)/(?P<api_id>{_NAME}(?:/{_NAME})?)"
    rf"(?:/(?:revision|resolve|tree|auth-check|refs|paths-info|preupload|commit)\b.*)?"
    rf"|api/resolve-cache/(?P<rc_type>models|datasets|spaces)/(?P<rc_id>{_NAME}/{_NAME})/"
    rf"|(?:(?P<type>datasets|spaces)/)?(?P<id>{_NAME}(?:/{_NAME})?)"
    rf"(?:/(?P<kind>resolve|blob|raw|tree)/(?P<rev>[^/]+)(?:/(?P<file>.+))?|\.git(?:/.*)?|/?)$)"
)
_NOT_NAMESPACES = {
    "api", "settings", "docs", "blog", "models", "datasets", "spaces", "login", "join", "pricing",
    "organizations", "collections", "papers", "tasks", "learn", "posts", "new", "oauth", "static-proxy",
}
_MESSAGE_REPO = [
    re.compile(rf"Access to (?:model|dataset|space) (?P<id>{_NAME}/{_NAME}) is restricted"),
    re.compile(rf"Your request to access (?:model|dataset|space) (?P<id>{_NAME}/{_NAME}) "),
    re.compile(rf"Could not download '(?P<id>{_NAME}/{_NAME})(?:@[\w.-]+)?'"),
    re.compile(rf"Dataset '(?P<id>{_NAME}/{_NAME})' (?:is a gated|doesn't exist)"),
    re.compile(rf"doesn't exist for dataset '(?P<id>{_NAME}/{_NAME})'"),
    re.compile(rf"Couldn't reach '(?P<id>{_NAME}/{_NAME})' on the Hub"),
    re.compile(rf"Cannot load model (?P<id>{_NAME}/{_NAME}): "),
    re.compile(rf"Could not download \w+ from (?P<id>{_NAME}/{_NAME})"),
    re.compile(rf"(?:Model|Pipeline) (?P<id>{_NAME}/{_NAME}) not found"),
    re.compile(rf"^(?P<id>{_NAME}/{_NAME}) is (?:not a local folder|a gated repository)"),
    re.compile(r"Repo id must [^:]{0,200}: '(?P<id>[^']{1,300})'"),
    re.compile(rf"(?:model_id|model_name|repo_id|pretrained_model_name_or_path)=['\"](?P<id>{_NAME}/{_NAME})['\"]"),
    re.compile(rf"(?:from_pretrained|DiarizationPipeline|load_dataset)\(\s*['\"](?P<id>{_NAME}/{_NAME})['\"]"),
]

_STATUS = [           # (a literal the line must hold, the pattern): the literal test skips most texts at C speed
    ("Client Error", re.compile(r"\b(?P<s>[45]\d\d) Client Error")),
    ("Server Error", re.compile(r"\b(?P<s>5\d\d) Server Error")),
    ("Client error '", re.compile(r"Client error '(?P<s>[45]\d\d) ")),
    ("Server error '", re.compile(r"Server error '(?P<s>5\d\d) ")),
    ("Forbidden: ", re.compile(r"\b(?P<s>403) Forbidden: ")),
    ("Too Many Requests", re.compile(r"\b(?P<s>429) Too Many Requests")),
    ("returned error: ", re.compile(r"returned error: (?P<s>[45]\d\d)\b")),
    ("HTTP Error ", re.compile(r"\bHTTP Error (?P<s>[45]\d\d)\b")),
    ("status", re.compile(r"\bstatus(?: code)?[ =:]+(?P<s>[45]\d\d)\b")),
    ("HTTP/", re.compile(r"\bHTTP/[\d.]+\"? (?P<s>[45]\d\d)\b")),
]

_REQUEST_ID = re.compile(
    r"\((?P<label>Request ID|Amzn Trace ID|Amz CF ID): (?P<rid>[\w=;:./+-]{4,200})\)"
    r"|x-request-id: (?P<hdr>[\w=;:./+-]{4,200})",
    re.IGNORECASE,
)
_XRAY = re.compile(r"Root=1-(?P<epoch>[0-9a-f]{8})-")


_SPLIT = re.compile(r"^(?P<scheme>[A-Za-z][\w+.-]{0,20})://(?:[^@/?#\s]{0,300}@)?(?P<host>\[[^\]]{1,60}\]|[^:/?#\s]{0,253})"
                    r"(?::(?P<port>\d{1,5}))?(?P<path>[^?#\s]*)")
_PCT = compile_lazily(r"%([0-9A-Fa-f]{2})")


class SplitURL:
    """The parts of a URL this tool needs (urllib.parse costs more to import than it saves)."""

    __slots__ = ("hostname", "path", "port", "scheme")

    def __init__(self, scheme: str, hostname: str, port: int | None, path: str) -> None:
        self.scheme, self.hostname, self.port, self.path = scheme, hostname, port, path


def split_url(url: str) -> SplitURL:
    m = _SPLIT.match(url)
    if m is None:
        return SplitURL("", "", None, "")
    port = int(m.group("port")) if m.group("port") else None
    return SplitURL(m.group("scheme").lower(), m.group("host").lower(), port, m.group("path") or "")


def unquote(text: str) -> str:
    return _PCT.sub(lambda m: chr(int(m.group(1), 16)), text) if "%" in text else text


def is_hub_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in HUB_HOSTS)


def urls(text: str) -> list[str]:
    """URLs in order of appearance, trailing punctuation removed."""
    return [u.rstrip(".,;:'\"`") for u in _URL.findall(text)]


def parse_url(url: str) -> dict[str, str]:
    """Fields of a Hub URL: host, repo_id, repo_type, revision, filename (what applies)."""
    parts = split_url(url)
    host = parts.hostname
    out: dict[str, str] = {"url": url, "host": host}
    m = _REPO_PATH.match(unquote(parts.path))
    if m is None:
        return out
    repo_type = m.group("api_type") or m.group("rc_type") or m.group("type") or "models"
    repo_id = m.group("api_id") or m.group("rc_id") or m.group("id")
    if not repo_id or repo_id.split("/")[0] in _NOT_NAMESPACES:
        return out
    out["repo_id"] = repo_id[:-4] if repo_id.endswith(".git") else repo_id
    out["repo_type"] = {"models": "model", "datasets": "dataset", "spaces": "space"}[repo_type]
    if m.group("rev"):
        out["revision"] = m.group("rev")
    if m.group("file"):
        out["filename"] = m.group("file")
    return out


def repo_from_url(url: str) -> str | None:
    info = parse_url(url)
    return info.get("repo_id") if is_hub_host(info.get("host")) else None


MAX_REPO_IDS = 32      # repo ids kept per event (an event quoting 100 000 URLs stays cheap)


def repo_ids_in(text: str) -> list[str]:
    """Repo ids named in text, most specific first: Hub URLs, then message templates."""
    found: dict[str, None] = {}             # a dict keeps the order and tests membership in O(1)
    legacy: dict[str, None] = {}
    for url in urls(text):
        rid = repo_from_url(url)
        if rid:
            (found if "/" in rid else legacy)[rid] = None
            if len(found) >= MAX_REPO_IDS:
                break
    for line in text.splitlines():
        for pattern in _MESSAGE_REPO:
            m = pattern.search(line)
            if m:
                found[m.group("id")] = None
    for rid in legacy:                      # single-name legacy repos last (bert-base-cased)
        found.setdefault(rid)
    return list(found)[:MAX_REPO_IDS]


def statuses_in(text: str) -> list[int]:
    found: list[int] = []
    for literal, pattern in _STATUS:
        if literal not in text:
            continue
        for m in pattern.finditer(text):
            s = int(m.group("s"))
            if s not in found:
                found.append(s)
    return found


def request_id(text: str) -> str | None:
    if "id: " not in text.lower():          # in every form the pattern knows; (?i) search is slow
        return None
    m = _REQUEST_ID.search(text)
    if not m:
        return None
    return (m.group("rid") or m.group("hdr") or "").rstrip(".") or None


def request_date(rid: str | None) -> str | None:
    """The UTC time an X-Ray request id encodes (its first hex field is epoch seconds)."""
    if not rid:
        return None
    m = _XRAY.search(rid)
    if not m:
        return None
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(m.group("epoch"), 16)))
    except (OverflowError, OSError, ValueError):
        return None
