"""Local checks: what this environment would send to the Hub, without any network.

Reads environment variables, the token files huggingface_hub uses, ``~/.netrc`` and git's
configuration. Never prints a token: only its fingerprint (kind, length, last four).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "https://huggingface.co"
LIBRARIES = ("huggingface_hub", "transformers", "diffusers", "datasets", "pyannote.audio", "whisperx")


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def fingerprint(token: str | None) -> str:
    """kind, length and last four characters — never more of a token."""
    if not token:
        return "none"
    t = token.strip()
    kind = ("OAuth token" if t.startswith("hf_oauth_") else "user token" if t.startswith("hf_")
            else "organization API token" if t.startswith("api_org_") else "unrecognised token")
    tail = f", ends …{t[-4:]}" if len(t) >= 12 else ""
    return f"{kind} ({len(t)} chars{tail})"


@dataclass
class TokenSource:
    """Where each candidate token is, and which one huggingface_hub would use."""

    env: dict[str, str] = field(default_factory=dict)        # variable -> token
    file: Path | None = None
    file_token: str | None = None
    stored_names: list[str] = field(default_factory=list)
    active: str | None = None                                 # the token that would be sent
    active_source: str = "none"
    notes: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        """An env variable holds another token than the stored login."""
        env_tok = self.env.get("HF_TOKEN") or self.env.get("HUGGING_FACE_HUB_TOKEN")
        return bool(env_tok and self.file_token and env_tok.strip() != self.file_token.strip())


def hf_home() -> Path:
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "huggingface"


def token_source() -> TokenSource:
    """huggingface_hub's order (hf-errors.md §4): OIDC, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, token file."""
    src = TokenSource()
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = os.environ.get(var)
        if value is not None and value.strip():
            src.env[var] = value
    path = Path(os.environ["HF_TOKEN_PATH"]).expanduser() if os.environ.get("HF_TOKEN_PATH") else hf_home() / "token"
    src.file = path
    try:
        src.file_token = path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        src.file_token = None
    stored = path.parent / "stored_tokens"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        src.stored_names = [line.strip()[1:-1] for line in stored.read_text(encoding="utf-8").splitlines()
                            if line.strip().startswith("[")]
    if os.environ.get("HF_OIDC_RESOURCE"):
        src.notes.append("HF_OIDC_RESOURCE is set: huggingface_hub ≥ 1.19 exchanges an OIDC token first")
    if os.environ.get("HF_HUB_DISABLE_IMPLICIT_TOKEN", "").lower() in ("1", "true", "yes", "on"):
        src.notes.append("HF_HUB_DISABLE_IMPLICIT_TOKEN is set: no token is sent unless the code passes one")
    if "HF_TOKEN" in src.env:
        src.active, src.active_source = src.env["HF_TOKEN"], "HF_TOKEN environment variable"
    elif "HUGGING_FACE_HUB_TOKEN" in src.env:
        src.active, src.active_source = src.env["HUGGING_FACE_HUB_TOKEN"], "HUGGING_FACE_HUB_TOKEN environment variable"
    elif src.file_token:
        src.active, src.active_source = src.file_token, f"token file {path}"
    return src


def token_format_problems(token: str | None) -> list[str]:
    """What is wrong with how a token is written (not whether the Hub accepts it)."""
    if not token:
        return []
    problems = []
    if token != token.strip():
        problems.append("leading/trailing whitespace or a newline")
    t = token.strip()
    if t[:1] in "'\"" or t[-1:] in "'\"":
        problems.append("quote characters pasted in")
    if t.lower().startswith("bearer "):
        problems.append("'Bearer ' pasted in front of the token")
    bare = t.strip("'\"")
    if bare.lower().startswith("bearer "):
        bare = bare[7:]
    if bare.startswith("api_org_"):
        problems.append("an organization API token (api_org_…), deprecated since 2023")
    elif not bare.startswith("hf_"):
        problems.append("does not start with hf_ (pyannote.audio 4 ignores such tokens)")
    elif not bare.startswith("hf_oauth_") and len(bare) != 37:
        problems.append(f"unusual length {len(bare)} (user tokens are 37 characters): truncated?")
    return problems


def netrc_entry(host: str) -> dict[str, Any] | None:
    """The ~/.netrc (or $NETRC) entry requests would use for host: path and login, never the password."""
    import netrc as netrc_mod

    candidates = [os.environ["NETRC"]] if os.environ.get("NETRC") else [
        os.path.join(os.path.expanduser("~"), ".netrc"), os.path.join(os.path.expanduser("~"), "_netrc")]
    for path in candidates:
        if not os.path.isfile(path):
            continue
        try:
            parsed = netrc_mod.netrc(path)
        except (netrc_mod.NetrcParseError, OSError) as exc:
            return {"path": path, "error": f"unreadable: {exc.__class__.__name__}"}
        auth = parsed.authenticators(host)
        if auth:
            machine = host if host in parsed.hosts else "default"
            return {"path": path, "machine": machine, "login": auth[0] or ""}
        return None
    return None


def git_credential_helpers() -> list[str] | None:
    """git's configured credential helpers, or None when git is not installed."""
    try:
        proc = subprocess.run(["git", "config", "--get-all", "credential.helper"], capture_output=True,
                              text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [h for h in proc.stdout.splitlines() if h.strip()]


def installed_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def major_minor(v: str | None) -> tuple[int, int] | None:
    if not v:
        return None
    parts = v.split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
    except (ValueError, IndexError):
        return None


def env_flags() -> dict[str, str]:
    """Environment variables that change what the Hub client does (proxy credentials stripped)."""
    out = {}
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_IMPLICIT_TOKEN",
                "HF_ENDPOINT", "HF_HOME", "HF_TOKEN_PATH", "NETRC"):
        if os.environ.get(var):
            out[var] = os.environ[var]
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "NO_PROXY", "no_proxy"):
        if os.environ.get(var):
            value = os.environ[var]
            parts = urlsplit(value if "://" in value else "http://" + value)
            out[var] = f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}" \
                if var.lower() != "no_proxy" else value
    return out


def offline_enabled() -> str | None:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return var
    return None


def git_stored_token(host: str, helpers: list[str]) -> tuple[str, str] | None:
    """(file, token) git's ``store`` helper keeps for host — read from its file, nothing run.

    Other helpers (keychains, managers) are not queried: that could open a dialog."""
    files = []
    for helper in helpers:
        parts = helper.split()
        if not parts or parts[0] != "store":
            continue
        explicit = [p.split("=", 1)[1] for p in parts[1:] if p.startswith("--file=")]
        files += explicit or [os.path.join(os.path.expanduser("~"), ".git-credentials"),
                              os.path.join(os.environ.get("XDG_CONFIG_HOME") or
                                           os.path.join(os.path.expanduser("~"), ".config"), "git", "credentials")]
    from .. import hub

    for path in files:
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            m = _CREDENTIAL_LINE.match(line.strip())
            if m and m.group("host").lower() == host.lower():
                return path, hub.unquote(m.group("password"))
    return None


_CREDENTIAL_LINE = __import__("re").compile(r"^https?://(?P<user>[^:@/]*):(?P<password>[^@/]+)@(?P<host>[^/:]+)")
