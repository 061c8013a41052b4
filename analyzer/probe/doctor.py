"""``hfexplain doctor``: every environment and token check, with no log (design §6 CONTRACT)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import Prober, describe, local

OK, WARN, FAIL, SKIPPED = "ok", "warn", "fail", "skipped"


@dataclass
class Check:
    id: str
    status: str
    summary: str
    cause: str | None = None
    fix: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status, "cause": self.cause, "summary": self.summary}
        if self.fix:
            out["fix"] = self.fix
        return out


def _fix(summary: str, steps: list[str] | None = None, commands: list[str] | None = None) -> dict[str, Any]:
    return {"summary": summary, "steps": steps or [], "commands": commands or []}


def run(network: bool = True) -> list[Check]:
    prober = Prober(network=network)
    src = prober.src
    versions = local.installed_versions()
    checks = [
        _token_source(src),
        _token_format(src),
        *_token_remote(prober),
        _netrc(prober, versions),
        _offline(),
        _endpoint(prober),
        _proxies(),
        _git(),
        _versions(versions),
    ]
    return checks


def _token_source(src: local.TokenSource) -> Check:
    if not src.active:
        return Check("token-source", WARN, "no token: HF_TOKEN and HUGGING_FACE_HUB_TOKEN are unset and there is "
                     f"no token file at {src.file}; gated and private repos will answer 401", "token-missing",
                     _fix("Log in, or export HF_TOKEN in the environment that runs your jobs.",
                          commands=["hf auth login"]))
    summary = f"active token: {src.active_source}, {local.fingerprint(src.active)}"
    if src.notes:
        return Check("token-source", WARN, summary + "; " + "; ".join(src.notes), "token-missing",
                     _fix("Unset HF_HUB_DISABLE_IMPLICIT_TOKEN, or pass the token explicitly in code."))
    if src.differs:
        var = "HF_TOKEN" if "HF_TOKEN" in src.env else "HUGGING_FACE_HUB_TOKEN"
        return Check("token-source", WARN,
                     f"{var} is set and differs from the stored login ({local.fingerprint(src.env[var])} vs "
                     f"{local.fingerprint(src.file_token)}); {var} wins", "env-token-override",
                     _fix(f"Unset {var} (or update it) if you meant the token you logged in with.",
                          commands=[f"unset {var}"]))
    return Check("token-source", OK, summary)


def _token_format(src: local.TokenSource) -> Check:
    tok = src.active
    if not tok:
        return Check("token-format", SKIPPED, "no token to check")
    problems = local.token_format_problems(tok)
    if not problems:
        return Check("token-format", OK, f"{local.fingerprint(tok)}: well formed")
    legacy = any("organization API token" in p for p in problems)
    return Check("token-format", FAIL, f"{src.active_source}: " + "; ".join(problems),
                 "token-legacy" if legacy else "token-invalid",
                 _fix("Create a user access token (hf_…) at https://huggingface.co/settings/tokens and store it "
                      "without quotes, spaces or newline.", commands=["hf auth login --force"]))


def _token_remote(prober: Prober) -> list[Check]:
    from .remote import token_role

    if not prober.src.active:
        return [Check("token-valid", SKIPPED, "no token to check")]
    if not prober.network:
        return [Check("token-valid", SKIPPED, "network checks are off")]
    w = prober.whoami()
    if not w.answered:
        return [Check("token-valid", SKIPPED, f"{prober.endpoint} did not answer: {w.failure}")]
    if not w.ok:
        cause = "env-token-override" if prober.src.active_source.startswith("HF_TOKEN") and prober.src.file_token \
            else "token-invalid"
        return [Check("token-valid", FAIL, f"the {prober.src.active_source} token is rejected: {describe(w)}", cause,
                      _fix("Create a new token and log in with it; unset a stale HF_TOKEN.",
                           commands=["hf auth login --force"]))]
    role, fine = token_role(w.data)
    out = [Check("token-valid", OK, f"valid: account {w.data.get('name', '?')}, role {role}")]
    if role == "fineGrained":
        if fine.get("canReadGatedRepos"):
            out.append(Check("token-scope", OK, "fine-grained token with read access to public gated repos"))
        else:
            out.append(Check("token-scope", WARN, "fine-grained token WITHOUT read access to public gated repos: "
                             "gated models answer 403", "token-scope",
                             _fix("Edit the token and enable 'Read access to contents of all public gated repos you "
                                  "can access'.", steps=["https://huggingface.co/settings/tokens"])))
    return out


def _netrc(prober: Prober, versions: dict[str, str | None]) -> Check:
    host = urlsplit(prober.endpoint).hostname or "huggingface.co"
    entry = local.netrc_entry(host)
    if entry is None:
        return Check("netrc", OK, f"no '{host}' or default entry in ~/.netrc / $NETRC")
    if "error" in entry:
        return Check("netrc", WARN, f"{entry['path']}: {entry['error']}")
    mm = local.major_minor(versions.get("huggingface_hub"))
    if mm is not None and mm[0] == 0:
        return Check("netrc", FAIL, f"{entry['path']} has a '{entry['machine']}' entry and huggingface_hub "
                     f"{versions['huggingface_hub']} (requests) sends it instead of your token", "netrc-conflict",
                     _fix("Remove that entry from ~/.netrc, or upgrade huggingface_hub to 1.x.",
                          commands=["grep -n -A2 -E 'huggingface|default' ~/.netrc"]))
    return Check("netrc", WARN, f"{entry['path']} has a '{entry['machine']}' entry; huggingface_hub "
                 f"{versions.get('huggingface_hub') or '(not installed)'} ignores it, but jobs with huggingface_hub "
                 "≤ 0.36 would send it instead of the token", "netrc-conflict")


def _offline() -> Check:
    var = local.offline_enabled()
    if var:
        return Check("offline", WARN, f"{var} is set: nothing will be downloaded", "offline-mode",
                     _fix(f"Unset {var} to download.", commands=[f"unset {var}"]))
    return Check("offline", OK, "offline mode is off")


def _endpoint(prober: Prober) -> Check:
    custom = prober.endpoint != local.DEFAULT_ENDPOINT
    what = f"HF_ENDPOINT={prober.endpoint}" if custom else prober.endpoint
    if not prober.network:
        return Check("endpoint", SKIPPED, f"{what}; network checks are off")
    r = prober.reachable()
    if r.answered:
        return Check("endpoint", OK, f"{what} answers (HTTP {r.status})")
    return Check("endpoint", FAIL, f"{what} does not answer: {r.failure}", "network-error",
                 _fix("Check DNS, proxy variables and HF_ENDPOINT.", commands=["env | grep -iE 'proxy|HF_ENDPOINT'"]))


def _proxies() -> Check:
    flags = {k: v for k, v in local.env_flags().items() if "proxy" in k.lower()}
    if not flags:
        return Check("proxy", OK, "no proxy variables set")
    return Check("proxy", OK, "proxy: " + ", ".join(f"{k}={v}" for k, v in flags.items()))


def _git() -> Check:
    helpers = local.git_credential_helpers()
    if helpers is None:
        return Check("git-credential-helper", SKIPPED, "git is not installed")
    if not helpers:
        return Check("git-credential-helper", OK, "no credential helper: git asks for a token when it needs one")
    return Check("git-credential-helper", OK, "git credential helpers: " + ", ".join(helpers))


def _versions(v: dict[str, str | None]) -> Check:
    have = ", ".join(f"{k} {x}" for k, x in v.items() if x) or "none of the Hugging Face libraries"
    hfh, pya = local.major_minor(v.get("huggingface_hub")), local.major_minor(v.get("pyannote.audio"))
    if hfh and hfh[0] >= 1 and pya and pya[0] < 4:
        return Check("versions", FAIL, f"{have}: pyannote.audio < 4 passes use_auth_token, which huggingface_hub ≥ 1.0 "
                     "rejects (TypeError)", "auth-kwarg-mismatch",
                     _fix("Install huggingface_hub<1.0 next to pyannote.audio 3.x, or upgrade pyannote.audio to 4.",
                          commands=["pip install 'huggingface_hub<1.0'"]))
    return Check("versions", OK, have)


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status in (WARN, FAIL) for c in checks) else 0


def render_text(checks: list[Check]) -> str:
    marks = {OK: "ok  ", WARN: "warn", FAIL: "FAIL", SKIPPED: "skip"}
    lines = []
    for c in checks:
        lines.append(f"{marks[c.status]}  {c.id:<22} {c.summary}")
        if c.status in (WARN, FAIL):
            if c.cause:
                lines.append(f"      cause: {c.cause}  (hfexplain rules show {c.cause})")
            if c.fix:
                lines.append(f"      hint: {c.fix['summary']}")
                lines += [f"        $ {cmd}" for cmd in c.fix.get("commands", [])]
    bad = sum(c.status in (WARN, FAIL) for c in checks)
    lines.append("")
    lines.append("everything looks fine" if not bad else f"{bad} problem{'s' if bad > 1 else ''} found")
    return "\n".join(lines) + "\n"
