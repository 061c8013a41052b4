"""Network checks, read-only, against the configured endpoint only (HF_ENDPOINT or huggingface.co).

Everything goes through the user's own huggingface_hub (imported here, never on the plain path)
so its token resolution, headers and proxy settings apply; calls that an old version lacks fall
back to a plain HEAD on a resolve URL of the configured endpoint. Each call is bounded by a
timeout, and no URL found in a log is ever contacted.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

TIMEOUT = 10.0                 # seconds per check; HFEXPLAIN_PROBE_TIMEOUT overrides it


def probe_timeout() -> float:
    """Seconds one check may take: HFEXPLAIN_PROBE_TIMEOUT (0 < s ≤ 600) or :data:`TIMEOUT`."""
    try:
        value = float(os.environ.get("HFEXPLAIN_PROBE_TIMEOUT") or TIMEOUT)
    except ValueError:
        return TIMEOUT
    return value if 0 < value <= 600 else TIMEOUT


@dataclass
class Answer:
    """What the Hub said: ok, or an HTTP status with the error code and server message."""

    ok: bool
    status: int | None = None
    error_code: str | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None          # no answer at all: timeout, connection refused, garbage

    @property
    def answered(self) -> bool:
        return self.failure is None


def _bounded(fn: Callable[[], Answer], timeout: float | None = None) -> Answer:
    """Run fn in a daemon thread; a hung connection cannot hold the run past the timeout."""
    timeout = timeout or probe_timeout()
    box: list[Answer] = []

    def target() -> None:
        try:
            box.append(fn())
        except Exception as exc:  # any client error becomes an inconclusive answer
            box.append(_from_exception(exc))

    t = threading.Thread(target=target, daemon=True, name="hfexplain-probe")
    t.start()
    t.join(timeout)
    return box[0] if box else Answer(False, failure=f"no answer within {timeout:g} s")


def _from_exception(exc: BaseException) -> Answer:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        headers = getattr(response, "headers", {}) or {}
        code = headers.get("X-Error-Code") or headers.get("x-error-code")
        message = headers.get("X-Error-Message") or headers.get("x-error-message") or ""
        if not message:
            try:
                body = response.json()
                message = body.get("error", "") if isinstance(body, dict) else ""
            except Exception:
                message = ""
        return Answer(False, status=status, error_code=code, message=str(message)[:500])
    name = type(exc).__name__
    return Answer(False, failure=f"{name}: {str(exc).splitlines()[0][:200] if str(exc) else ''}".rstrip(": "))


def _api(endpoint: str) -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint)


def whoami(endpoint: str, token: str) -> Answer:
    """GET /api/whoami-v2 with the token: valid? which account, which role, which scopes."""
    def call() -> Answer:
        info = _api(endpoint).whoami(token=token)
        return Answer(True, status=200, data=info if isinstance(info, dict) else {})
    return _bounded(call)


def token_role(info: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(role, fineGrained section) of a whoami answer."""
    access = ((info.get("auth") or {}).get("accessToken") or {})
    return access.get("role"), access.get("fineGrained") or {}


def repo_access(endpoint: str, repo_id: str, repo_type: str, token: str | None) -> Answer:
    """Can this token read the repo's files? ``GET /api/{type}s/{id}/auth-check`` (what ``auth_check``
    calls), sent through the user's huggingface_hub session; redirects are not followed."""
    def call() -> Answer:
        from huggingface_hub.utils import build_hf_headers

        url = f"{endpoint}/api/{repo_type}s/{repo_id}/auth-check"
        return _answer(_send("GET", url, build_hf_headers(token=token if token else False)))
    return _bounded(call)


def _answer(r: Any) -> Answer:
    """Read a Hub API response; anything that is not the Hub's JSON API is no answer at all."""
    status = r.status_code
    if 300 <= status < 400:
        return Answer(False, failure=f"redirected (HTTP {status}) instead of answering; not followed")
    ctype = (r.headers.get("Content-Type") or "").lower()
    code = r.headers.get("X-Error-Code")
    message = r.headers.get("X-Error-Message") or ""
    try:
        body = r.json() if "json" in ctype else None
    except ValueError:          # declared JSON, is not: a proxy or a broken server, not the Hub API
        return Answer(False, failure=f"HTTP {status} with a malformed JSON body: not the Hub API")
    if body is None and not code:
        return Answer(False, failure=f"HTTP {status} with a {ctype or 'non-JSON'} body: not the Hub API")
    if not message and isinstance(body, dict):
        message = str(body.get("error") or "")
    return Answer(status < 400, status=status, error_code=code, message=message[:500],
                  data=body if isinstance(body, dict) else {})


def _send(method: str, url: str, headers: dict[str, str] | None = None) -> Any:
    """One request through huggingface_hub's own session (requests or httpx), no redirects followed."""
    from huggingface_hub.utils import get_session

    session = get_session()
    redirects = {"allow_redirects": False} if type(session).__module__.startswith("requests") \
        else {"follow_redirects": False}
    return session.request(method, url, headers=headers or {}, timeout=probe_timeout(), **redirects)


def repo_info(endpoint: str, repo_id: str, repo_type: str, token: str | None) -> Answer:
    """Repo metadata (200 for gated repos even anonymously): exists? gated how? disabled?"""
    def call() -> Answer:
        api = _api(endpoint)
        getter = {"dataset": "dataset_info", "space": "space_info"}.get(repo_type, "model_info")
        info = getattr(api, getter)(repo_id, token=token if token else False)
        return Answer(True, status=200, data={"gated": getattr(info, "gated", None),
                                              "disabled": getattr(info, "disabled", None),
                                              "private": getattr(info, "private", None)})
    return _bounded(call)


def reachable(endpoint: str) -> Answer:
    """Does the endpoint answer HTTP at all (any status)? Sends no token."""
    def call() -> Answer:
        return Answer(True, status=_send("GET", f"{endpoint}/api/whoami-v2").status_code)
    return _bounded(call)


def pipeline_submodels(endpoint: str, repo_id: str, token: str | None) -> Answer:
    """The repo ids a pyannote pipeline's config.yaml names (segmentation, embedding, …).

    Read with a plain GET of the resolve URL (nothing is written to the cache)."""
    def call() -> Answer:
        from huggingface_hub.utils import build_hf_headers

        r = _send("GET", f"{endpoint}/{repo_id}/resolve/main/config.yaml",
                  build_hf_headers(token=token if token else False))
        if r.status_code != 200:
            return Answer(False, status=r.status_code, error_code=r.headers.get("X-Error-Code"))
        from ..rules import _yaml_load

        try:                    # no aliases, bounded nesting: a repo's file is not trusted data
            config = _yaml_load(r.text[:200_000])
        except Exception:       # yaml.YAMLError, or refused
            return Answer(False, failure="config.yaml is not plain YAML")
        found: list[str] = []
        _repo_ids(config, found)
        return Answer(True, status=200, data={"submodels": [x for x in found if x != repo_id]})
    return _bounded(call)


def _repo_ids(node: Any, out: list[str]) -> None:
    import re

    if isinstance(node, dict):
        for value in node.values():
            _repo_ids(value, out)
    elif isinstance(node, list):
        for value in node:
            _repo_ids(value, out)
    elif isinstance(node, str) and re.fullmatch(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}(@[\w.-]+)?", node):
        repo = node.split("@", 1)[0]
        if not repo.endswith((".bin", ".ckpt", ".pt", ".onnx", ".yaml")) and repo not in out:
            out.append(repo)
