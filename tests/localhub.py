"""A small, real HTTP server on 127.0.0.1 that answers like the Hugging Face Hub.

The real ``huggingface_hub`` client (any release from 0.20 to 2.x) talks to it through
``HF_ENDPOINT=<LocalHub.url>``: nothing is mocked, every byte goes over a socket. The statuses,
``X-Error-Code`` / ``X-Error-Message`` headers, bodies and ``X-Request-Id`` format follow
``shared/reference/hf-errors.md`` §2, so the client raises exactly the exceptions it raises against
huggingface.co (``GatedRepoError``, ``RepositoryNotFoundError``, the 403/429 ``HfHubHTTPError`` …).

Standard library only. Typical use::

    with LocalHub() as hub:
        hub.add_repo("meta-llama/Llama-3.1-8B", gated="manual", files={"config.json": b"{}"})
        hub.add_token(token, user="alice")
        hub.set_access("alice", "meta-llama/Llama-3.1-8B", "pending")
        env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": token}
        ...  # run the client; hub.requests shows every request it sent (method, path, headers)

Modelled endpoints: ``GET /api/whoami-v2``; ``GET /api/{models|datasets|spaces}/{id}`` and
``…/revision/{rev}``, ``…/auth-check``, ``…/refs``, ``…/tree/{rev}``, ``POST …/preupload/{rev}`` and
``…/commit/{rev}``; ``HEAD``/``GET /{id}/resolve/{rev}/{file}`` (``/datasets/…``, ``/spaces/…``);
``POST /api/repos/create``. Anything else gets a plausible Hub 404.

Two modes beyond the defaults, used by the fixture generator (``fixtures/generate/``):
``LocalHub(tls=ssl_context)`` serves HTTPS (``url`` becomes ``https://127.0.0.1:PORT``), and the
server builds its absolute URLs from the request's ``Host`` header, so a client that reaches it
under the name ``huggingface.co`` sees ``https://huggingface.co/…`` everywhere.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
import secrets
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional, Union

__all__ = ["LocalHub"]

HUB_SITE = "https://huggingface.co"  # the Hub names itself so in its messages, whatever the Host

REPO_TYPES = ("model", "dataset", "space")
_PLURAL_TO_TYPE = {"models": "model", "datasets": "dataset", "spaces": "space"}
_ACCESS_STATES = ("accepted", "pending", "rejected", "reset")
_ROLES = ("read", "write", "fineGrained")
# Files of a gated repo anyone may read (the model card and git attributes).
_GATE_ALLOWLIST = ("README.md", ".gitattributes")

MSG_INVALID_BEARER = "Invalid credentials in Authorization header"
MSG_INVALID_USER_PASS = "Invalid username or password."
MSG_REPO_NOT_FOUND = "Repository not found"
MSG_DISABLED = "Access to this resource is disabled."
MSG_ENTRY_NOT_FOUND = "Entry not found"
MSG_FINE_GRAINED_GATED = (
    "Please enable access to public gated repositories in your fine-grained token settings to view this repository."
)
MSG_WRITE_TOKEN = "you must use a write token to upload to a repository."
MSG_NO_WRITE_PERMISSION = "You have read access but not the required permissions for this operation"
MSG_NOT_FOUND_PAGE = "Sorry, we can't find the page you are looking for."
MSG_UNAUTHENTICATED_WARNING = (
    "unauthenticated; Warning: You are sending unauthenticated requests to the HF Hub. "
    "Please set a HF_TOKEN to enable higher rate limits and faster downloads."
)
WWW_AUTHENTICATE = 'Bearer realm="Authentication required", charset="UTF-8"'
RATELIMIT = '"api";r=0;t=55'
RATELIMIT_POLICY = '"fixed window";"api";q=500;w=300'

_RESOLVE_RE = re.compile(r"^/(?:(?P<plural>datasets|spaces)/)?(?P<repo>.+?)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
_API_REPO_RE = re.compile(r"^/api/(?P<plural>models|datasets|spaces)/(?P<rest>.+)$")
# Sub-routes that may follow a repo id under /api/{type}s/; a one-segment repo id (legacy "gpt2") is
# followed directly by one of these.
_API_SUBROUTES = ("revision", "auth-check", "refs", "tree", "preupload", "commit", "paths-info")


def _type_word(repo_type: str) -> str:
    return repo_type  # "model" | "dataset" | "space", as the Hub writes it in messages


def _repo_url(repo_type: str, repo_id: str) -> str:
    prefix = "" if repo_type == "model" else f"{repo_type}s/"
    return f"{HUB_SITE}/{prefix}{repo_id}"


def _sha1_hex(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


def _git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class _Repo:
    repo_id: str
    repo_type: str
    gated: Union[bool, str]
    private: bool
    disabled: bool
    files: dict[str, bytes]
    revisions: dict[str, str]  # name -> 40-hex commit sha
    created_at: str = "2024-07-18T08:56:00.000Z"

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/", 1)[0] if "/" in self.repo_id else self.repo_id

    def resolve_revision(self, rev: str) -> Optional[str]:
        rev = urllib.parse.unquote(rev)
        if rev in self.revisions:
            return self.revisions[rev]
        if re.fullmatch(r"[0-9a-f]{40}", rev) and rev in self.revisions.values():
            return rev
        return None


@dataclass
class _Token:
    token: str
    user: str
    role: str
    can_read_gated: bool
    scoped: tuple[str, ...]
    display_name: str = ""


@dataclass
class _Auth:
    """What the Authorization header of one request amounts to."""

    kind: str  # "anonymous" | "bearer" | "basic" | "invalid-bearer" | "invalid-basic"
    token: Optional[_Token] = None

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"

    @property
    def user(self) -> Optional[str]:
        return self.token.user if self.token else None


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json; charset=utf-8"


class _HubError(Exception):
    """An error response; ``api`` decides between a JSON and a text body."""

    def __init__(
        self,
        status: int,
        message: Optional[str],
        *,
        code: Optional[str] = None,
        header_message: bool = True,
        www_authenticate: bool = False,
        extra_headers: Optional[list[tuple[str, str]]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.header_message = header_message
        self.www_authenticate = www_authenticate
        self.extra_headers = extra_headers or []


class LocalHub:
    """A Hugging Face Hub look-alike on 127.0.0.1 (ephemeral port), served from a background thread.

    Configure it with :meth:`add_repo`, :meth:`add_token`, :meth:`set_access` and :meth:`rate_limit`
    (before or while it runs), then :meth:`start` it (or use it as a context manager) and point
    ``HF_ENDPOINT`` at :attr:`url`. :attr:`requests` records every request seen.
    """

    def __init__(self, *, tls: Optional[ssl.SSLContext] = None) -> None:
        """Create a stopped hub. ``tls`` (a server-side SSL context) makes it serve HTTPS."""
        self._lock = threading.Lock()
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._tokens: dict[str, _Token] = {}
        self._access: dict[tuple[str, str], str] = {}
        self._rate_limited = False
        self._tls = tls
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.url: str = ""
        self.requests: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ configuration
    def add_repo(
        self,
        repo_id: str,
        repo_type: str = "model",
        *,
        gated: Union[bool, str] = False,
        private: bool = False,
        disabled: bool = False,
        files: Optional[dict[str, bytes]] = None,
        revisions: tuple[str, ...] = ("main",),
    ) -> None:
        """Add (or replace) a repository. ``gated`` is ``False``, ``"auto"`` or ``"manual"``."""
        if repo_type not in REPO_TYPES:
            raise ValueError(f"repo_type must be one of {REPO_TYPES}, not {repo_type!r}")
        if gated not in (False, "auto", "manual"):
            raise ValueError(f"gated must be False, 'auto' or 'manual', not {gated!r}")
        revs = {rev: _sha1_hex(repo_type, repo_id, rev) for rev in revisions}
        repo = _Repo(repo_id, repo_type, gated, private, disabled, dict(files or {}), revs)
        with self._lock:
            self._repos[(repo_type, repo_id)] = repo

    def add_token(
        self,
        token: str,
        user: str = "alice",
        *,
        role: str = "read",
        can_read_gated: bool = True,
        scoped: tuple[str, ...] = (),
    ) -> None:
        """Register a valid token of ``user``. ``role`` is ``read``, ``write`` or ``fineGrained``;
        ``can_read_gated`` and ``scoped`` (repo ids it may read) matter for fine-grained tokens only."""
        if role not in _ROLES:
            raise ValueError(f"role must be one of {_ROLES}, not {role!r}")
        name = f"{user}-{role.lower()}-{len(self._tokens) + 1}"
        with self._lock:
            self._tokens[token] = _Token(token, user, role, can_read_gated, tuple(scoped), name)

    def set_access(self, user: str, repo_id: str, state: str) -> None:
        """Set ``user``'s access request on gated ``repo_id``: accepted, pending, rejected or reset."""
        if state not in _ACCESS_STATES:
            raise ValueError(f"state must be one of {_ACCESS_STATES}, not {state!r}")
        with self._lock:
            self._access[(user, repo_id)] = state

    def rate_limit(self, on: bool = True) -> None:
        """While on, every request gets 429 with the Hub's ``RateLimit`` headers."""
        with self._lock:
            self._rate_limited = on

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalHub:
        """Bind 127.0.0.1 on an ephemeral port and serve from a daemon thread."""
        if self._server is not None:
            return self
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        server = _Server(("127.0.0.1", 0), Handler, self._tls)
        self._server = server
        port = server.server_address[1]
        self.url = f"{'https' if self._tls else 'http'}://127.0.0.1:{port}"
        self._thread = threading.Thread(target=server.serve_forever, name="LocalHub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ request handling
    def _record(self, method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
        entry: dict[str, Any] = {"method": method, "path": path, "headers": headers, "status": None}
        with self._lock:
            self.requests.append(entry)
        return entry

    def _authenticate(self, header: Optional[str]) -> _Auth:
        if not header:
            return _Auth("anonymous")
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            tok = self._tokens.get(value)
            return _Auth("bearer", tok) if tok else _Auth("invalid-bearer")
        if scheme.lower() == "basic":
            try:
                _user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return _Auth("invalid-basic")
            tok = self._tokens.get(password)
            return _Auth("basic", tok) if tok else _Auth("invalid-basic")
        return _Auth("invalid-bearer")

    @staticmethod
    def _reject_bad_credentials(auth: _Auth) -> None:
        if auth.kind == "invalid-bearer":
            raise _HubError(401, MSG_INVALID_BEARER)
        if auth.kind == "invalid-basic":
            raise _HubError(401, MSG_INVALID_USER_PASS, www_authenticate=True)

    def _find_repo(self, repo_type: str, repo_id: str) -> Optional[_Repo]:
        return self._repos.get((repo_type, urllib.parse.unquote(repo_id)))

    def _can_see(self, repo: _Repo, auth: _Auth) -> bool:
        """Whether the repo exists for this caller (private repos are invisible to others)."""
        if not repo.private:
            return True
        tok = auth.token
        if tok is None:
            return False
        if tok.role == "fineGrained":
            return repo.repo_id in tok.scoped
        return tok.user == repo.namespace or repo.repo_id in tok.scoped

    def _visible_repo(self, repo_type: str, repo_id: str, auth: _Auth) -> _Repo:
        """The repo, or the Hub's answer for a missing/private one (401 anonymous, 404 otherwise)."""
        self._reject_bad_credentials(auth)
        repo = self._find_repo(repo_type, repo_id)
        if repo is None or not self._can_see(repo, auth):
            if auth.anonymous:
                raise _HubError(401, MSG_INVALID_USER_PASS, www_authenticate=True)
            raise _HubError(404, MSG_REPO_NOT_FOUND, code="RepoNotFound")
        return repo

    def _check_content_access(self, repo: _Repo, auth: _Auth, filename: Optional[str] = None) -> None:
        """Disabled and gate checks for the repo's content (files, auth-check)."""
        if repo.disabled:
            raise _HubError(403, MSG_DISABLED)
        if not repo.gated or (filename is not None and filename in _GATE_ALLOWLIST):
            return
        word, rid = _type_word(repo.repo_type), repo.repo_id
        if auth.anonymous or auth.token is None:
            raise _HubError(
                401,
                f"Access to {word} {rid} is restricted. You must have access to it and be authenticated to "
                "access it. Please log in.",
                code="GatedRepo",
            )
        tok = auth.token
        if tok.user == repo.namespace:
            return
        if tok.role == "fineGrained" and not tok.can_read_gated and rid not in tok.scoped:
            raise _HubError(403, MSG_FINE_GRAINED_GATED)
        state = self._access.get((tok.user, rid))
        url = _repo_url(repo.repo_type, rid)
        if state == "accepted":
            return
        if state == "pending":
            msg = f"Your request to access {word} {rid} is awaiting a review from the repo authors."
        elif state == "rejected":
            msg = f"Your request to access {word} {rid} has been rejected by the repo's authors."
        elif state == "reset":
            msg = (
                f"Your request to access {word} {rid} has been reset by the repo's authors. "
                f"Visit {url} to submit a new request."
            )
        else:
            msg = (
                f"Access to {word} {rid} is restricted and you are not in the authorized list. "
                f"Visit {url} to ask for access."
            )
        raise _HubError(403, msg, code="GatedRepo")

    def _check_write_access(self, repo: _Repo, auth: _Auth) -> None:
        tok = auth.token
        if tok is None:
            raise _HubError(401, MSG_INVALID_USER_PASS, www_authenticate=True)
        if tok.role == "read":
            raise _HubError(403, MSG_WRITE_TOKEN)
        if tok.role == "fineGrained" or tok.user != repo.namespace:
            raise _HubError(403, MSG_NO_WRITE_PERMISSION)

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes, base: str) -> _Response:
        """Answer one request (called by the server thread; usable directly in tests)."""
        path = urllib.parse.urlsplit(raw_path).path
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(raw_path).query)
        is_api = path.startswith("/api/")
        with self._lock:
            rate_limited = self._rate_limited
        auth = self._authenticate(_header(headers, "authorization"))
        try:
            if rate_limited:
                raise _HubError(
                    429,
                    None,
                    header_message=False,
                    extra_headers=[("RateLimit", RATELIMIT), ("RateLimit-Policy", RATELIMIT_POLICY)],
                )
            with self._lock:
                resp = self._route(method, path, query, auth, body, base)
        except _HubError as err:
            resp = self._error_response(err, is_api=is_api, head=method == "HEAD")
        if auth.anonymous:
            resp.headers.append(("X-HF-Warning", MSG_UNAUTHENTICATED_WARNING))
        return resp

    @staticmethod
    def _error_response(err: _HubError, *, is_api: bool, head: bool) -> _Response:
        headers = list(err.extra_headers)
        if err.code:
            headers.append(("X-Error-Code", err.code))
        if err.message and err.header_message:
            headers.append(("X-Error-Message", err.message))
        if err.www_authenticate:
            headers.append(("WWW-Authenticate", WWW_AUTHENTICATE))
        if err.message is None:
            return _Response(err.status, b"", headers, "text/plain; charset=utf-8")
        if is_api:
            return _Response(err.status, json.dumps({"error": err.message}).encode(), headers)
        if err.message == MSG_NOT_FOUND_PAGE:  # an unknown web page: the Hub's HTML 404 page
            page = (
                "<!doctype html>\n<html><head><title>404 – Hugging Face</title></head>"
                f"<body><p>{err.message}</p></body></html>\n"
            )
            return _Response(err.status, page.encode(), headers, "text/html; charset=utf-8")
        return _Response(err.status, err.message.encode(), headers, "text/plain; charset=utf-8")

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], auth: _Auth, body: bytes, base: str
    ) -> _Response:
        if path == "/api/whoami-v2" and method == "GET":
            return self._whoami(auth)
        if path == "/api/agent-harnesses" and method == "GET":
            # hfh >= 1.x fetches this registry (best effort) to detect AI coding agents.
            return _json(200, {"standardEnvVars": ["AI_AGENT", "AGENT"], "harnesses": {}})
        if path == "/api/validate-yaml" and method == "POST":
            return self._validate_yaml(auth, body)
        if path == "/api/repos/create" and method == "POST":
            return self._create_repo(auth, body, base)
        m = _API_REPO_RE.match(path)
        if m:
            return self._api_repo(method, _PLURAL_TO_TYPE[m["plural"]], m["rest"], auth, body, base)
        m = _RESOLVE_RE.match(path)
        if m and method in ("GET", "HEAD"):
            repo_type = _PLURAL_TO_TYPE[m["plural"]] if m["plural"] else "model"
            return self._resolve(method, repo_type, m["repo"], m["rev"], m["file"], auth)
        raise _HubError(404, MSG_NOT_FOUND_PAGE, header_message=False)

    # ------------------------------------------------------------------ endpoints
    def _whoami(self, auth: _Auth) -> _Response:
        self._reject_bad_credentials(auth)
        tok = auth.token
        if tok is None:
            raise _HubError(401, MSG_INVALID_USER_PASS, www_authenticate=True)
        access_token: dict[str, Any] = {
            "displayName": tok.display_name,
            "role": tok.role,
            "createdAt": "2025-01-15T10:21:07.000Z",
        }
        if tok.role == "fineGrained":
            access_token["fineGrained"] = {
                "canReadGatedRepos": tok.can_read_gated,
                "global": ["discussion.write", "post.write"],
                "scoped": [
                    {
                        "entity": {"_id": _sha1_hex("entity", rid)[:24], "type": "model", "name": rid},
                        "permissions": ["repo.content.read"],
                    }
                    for rid in tok.scoped
                ],
            }
        data = {
            "type": "user",
            "id": _sha1_hex("user", tok.user)[:24],
            "name": tok.user,
            "fullname": tok.user.capitalize(),
            "email": f"{tok.user}@example.com",
            "emailVerified": True,
            "canPay": False,
            "periodEnd": None,
            "isPro": False,
            "avatarUrl": "/avatars/default.svg",
            "orgs": [],
            "auth": {"type": "access_token", "accessToken": access_token},
        }
        return _json(200, data)

    def _validate_yaml(self, auth: _Auth, body: bytes) -> _Response:
        """Model card metadata check, called by uploads of README.md (hfh >= 0.20)."""
        self._reject_bad_credentials(auth)
        try:
            content = str(json.loads(body or b"{}").get("content") or "")
        except ValueError:
            raise _HubError(400, "Invalid JSON body", header_message=False) from None
        warnings = []
        if not content.startswith("---"):
            warnings.append(
                {
                    "message": "empty or missing yaml metadata in repo card "
                    "(https://huggingface.co/docs/hub/model-cards#model-card-metadata)"
                }
            )
        return _json(200, {"errors": [], "warnings": warnings})

    def _create_repo(self, auth: _Auth, body: bytes, base: str) -> _Response:
        self._reject_bad_credentials(auth)
        tok = auth.token
        if tok is None:
            raise _HubError(401, MSG_INVALID_USER_PASS, www_authenticate=True)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            raise _HubError(400, "Invalid JSON body", header_message=False) from None
        repo_type = payload.get("type") or "model"
        if repo_type not in REPO_TYPES:
            raise _HubError(400, f"Invalid repo type: {repo_type}")
        name = payload.get("name") or ""
        namespace = payload.get("organization") or tok.user
        if tok.role != "write" or namespace != tok.user:
            raise _HubError(
                403, f'You don\'t have the rights to create a {repo_type} under the namespace "{namespace}"'
            )
        repo_id = f"{namespace}/{name}"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{base}/{prefix}{repo_id}"
        if (repo_type, repo_id) in self._repos:
            return _json(409, {"error": f"You already created this {repo_type} repo", "url": url})
        revs = {"main": _sha1_hex(repo_type, repo_id, "main")}
        self._repos[(repo_type, repo_id)] = _Repo(
            repo_id, repo_type, False, bool(payload.get("private")), False, {}, revs
        )
        return _json(200, {"url": url, "name": repo_id, "id": _sha1_hex("repo", repo_id)[:24]})

    def _api_repo(self, method: str, repo_type: str, rest: str, auth: _Auth, body: bytes, base: str) -> _Response:
        parts = rest.split("/")
        if len(parts) >= 2 and parts[1] in _API_SUBROUTES:
            repo_id, sub = parts[0], parts[1:]
        else:
            repo_id, sub = "/".join(parts[:2]), parts[2:]
        route = sub[0] if sub else ""
        if method == "GET" and route == "":
            return self._repo_info(repo_type, repo_id, None, auth)
        if method == "GET" and route == "revision" and len(sub) >= 2:
            return self._repo_info(repo_type, repo_id, "/".join(sub[1:]), auth)
        if method == "GET" and route == "auth-check":
            repo = self._visible_repo(repo_type, repo_id, auth)
            if len(sub) > 1 and sub[1] == "write":
                self._check_write_access(repo, auth)
            else:
                self._check_content_access(repo, auth)
            return _json(200, {})
        if method == "GET" and route == "refs":
            repo = self._visible_repo(repo_type, repo_id, auth)
            branches = [
                {"name": name, "ref": f"refs/heads/{name}", "targetCommit": sha} for name, sha in repo.revisions.items()
            ]
            return _json(200, {"branches": branches, "converts": [], "tags": []})
        if method == "GET" and route == "tree" and len(sub) >= 2:
            repo = self._visible_repo(repo_type, repo_id, auth)
            self._check_content_access(repo, auth)
            if repo.resolve_revision(sub[1]) is None:
                raise _HubError(404, f"Invalid rev id: {urllib.parse.unquote(sub[1])}", code="RevisionNotFound")
            return _json(200, [_tree_entry(p, d) for p, d in sorted(repo.files.items())])
        if method == "POST" and route in ("preupload", "commit") and len(sub) >= 2:
            repo = self._visible_repo(repo_type, repo_id, auth)
            self._check_write_access(repo, auth)
            if repo.resolve_revision(sub[1]) is None:
                raise _HubError(404, f"Invalid rev id: {urllib.parse.unquote(sub[1])}", code="RevisionNotFound")
            if route == "preupload":
                return self._preupload(body)
            return self._commit(repo, body, base)
        raise _HubError(404, MSG_NOT_FOUND_PAGE, header_message=False)

    def _repo_info(self, repo_type: str, repo_id: str, revision: Optional[str], auth: _Auth) -> _Response:
        repo = self._visible_repo(repo_type, repo_id, auth)
        sha = repo.revisions.get("main") or next(iter(repo.revisions.values()), "0" * 40)
        if revision is not None:
            resolved = repo.resolve_revision(revision)
            if resolved is None:
                raise _HubError(404, f"Invalid rev id: {urllib.parse.unquote(revision)}", code="RevisionNotFound")
            sha = resolved
        author = repo.namespace
        data: dict[str, Any] = {
            "_id": _sha1_hex("repo", repo.repo_id)[:24],
            "id": repo.repo_id,
            "author": author,
            "sha": sha,
            "lastModified": "2024-12-06T14:29:24.000Z",
            "createdAt": repo.created_at,
            "private": repo.private,
            "gated": repo.gated,
            "disabled": repo.disabled,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": [{"rfilename": name} for name in sorted(repo.files)],
        }
        if repo.repo_type == "model":
            data["modelId"] = repo.repo_id
        return _json(200, data)

    @staticmethod
    def _preupload(body: bytes) -> _Response:
        try:
            files = json.loads(body or b"{}").get("files", [])
        except ValueError:
            raise _HubError(400, "Invalid JSON body", header_message=False) from None
        out = [{"path": f.get("path"), "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files]
        return _json(200, {"files": out, "commitOid": None})

    def _commit(self, repo: _Repo, body: bytes, base: str) -> _Response:
        for line in body.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if item.get("key") == "file":
                value = item.get("value", {})
                content = value.get("content", "")
                data = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
                repo.files[value.get("path", "")] = data
        sha = _sha1_hex(repo.repo_type, repo.repo_id, str(time.time_ns()))
        repo.revisions["main"] = sha
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        return _json(
            200,
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{base}/{prefix}{repo.repo_id}/commit/{sha}",
                "hookOutput": "",
                "pullRequestUrl": None,
            },
        )

    def _resolve(self, method: str, repo_type: str, repo_id: str, rev: str, filename: str, auth: _Auth) -> _Response:
        repo = self._visible_repo(repo_type, repo_id, auth)
        filename = urllib.parse.unquote(filename)
        self._check_content_access(repo, auth, filename)
        sha = repo.resolve_revision(rev)
        if sha is None:
            raise _HubError(404, f"Invalid rev id: {urllib.parse.unquote(rev)}", code="RevisionNotFound")
        data = repo.files.get(filename)
        if data is None:
            raise _HubError(404, MSG_ENTRY_NOT_FOUND, code="EntryNotFound", extra_headers=[("X-Repo-Commit", sha)])
        ctype = "application/json" if filename.endswith(".json") else "text/plain; charset=utf-8"
        if not _is_text(data):
            ctype = "application/octet-stream"
        headers = [
            ("X-Repo-Commit", sha),
            ("ETag", f'"{_git_blob_sha(data)}"'),
            ("Accept-Ranges", "bytes"),
            (
                "Content-Disposition",
                f"inline; filename*=UTF-8''{urllib.parse.quote(filename.rsplit('/', 1)[-1])}",
            ),
            ("Vary", "Origin"),
        ]
        return _Response(200, data, headers, ctype)


# ---------------------------------------------------------------------- helpers
def _header(headers: dict[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _json(status: int, data: Any) -> _Response:
    return _Response(status, json.dumps(data).encode())


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _tree_entry(path: str, data: bytes) -> dict[str, Any]:
    return {"type": "file", "oid": _git_blob_sha(data), "size": len(data), "path": path}


def _request_id(trace_id: Optional[str]) -> str:
    root = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"{root};{trace_id}" if trace_id else root


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], tls: Optional[ssl.SSLContext]) -> None:
        self._tls = tls
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread, so a client that never
        # completes it cannot block the accept loop.
        if self._tls is not None:
            try:
                request = self._tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-request is not the server's business


class _Handler(BaseHTTPRequestHandler):
    hub: LocalHub
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        headers = {k: v for k, v in self.headers.items()}
        entry = self.hub._record(self.command, self.path, headers)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
        resp = self.hub.handle(self.command, self.path, headers, body, f"{scheme}://{host}")
        status, payload = resp.status, resp.body
        extra: list[tuple[str, str]] = []
        range_header = self.headers.get("Range")
        if status == 200 and range_header and self.command in ("GET", "HEAD"):
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header.strip())
            if m:
                start = int(m[1])
                end = int(m[2]) if m[2] else len(payload) - 1
                if start >= len(payload):
                    status, extra = 416, [("Content-Range", f"bytes */{len(payload)}")]
                    payload = b""
                else:
                    end = min(end, len(payload) - 1)
                    extra = [("Content-Range", f"bytes {start}-{end}/{len(payload)}")]
                    payload, status = payload[start : end + 1], 206
        entry["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Powered-By", "huggingface-moon")
        self.send_header("X-Request-Id", _request_id(self.headers.get("X-Amzn-Trace-Id")))
        for key, value in [*resp.headers, *extra]:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(OSError):
                self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def send_response(self, code: int, message: Optional[str] = None) -> None:
        # Like BaseHTTPRequestHandler.send_response, without the `Server: BaseHTTP/…` header.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read LocalHub.requests instead
