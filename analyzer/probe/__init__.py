"""Live, read-only checks that confirm or refute a finding's cause (``--probe``, ``doctor``).

The token comes from the user's environment (the same order huggingface_hub uses), never from
the log, and is sent only to the configured endpoint. Every verdict is ``confirmed``,
``refuted`` or ``inconclusive`` with the fact observed; a failing check never fails the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from . import local

CONFIRMED, REFUTED, INCONCLUSIVE = "confirmed", "refuted", "inconclusive"

# Sub-models a pyannote pipeline downloads too (hf-errors.md §6): their conditions must be accepted.
PYANNOTE_SUBMODELS = {
    "pyannote/speaker-diarization-3.1": ["pyannote/segmentation-3.0"],
    "pyannote/speaker-diarization-3.0": ["pyannote/segmentation-3.0"],
    "pyannote/speaker-diarization": ["pyannote/segmentation"],
    "pyannote/speaker-diarization@2.1": ["pyannote/segmentation"],
}


@dataclass
class Verdict:
    status: str
    fact: str
    checks: list[dict[str, str]] = field(default_factory=list)


class Prober:
    """Runs each check at most once per run and turns the answers into verdicts per cause."""

    def __init__(self, endpoint: str | None = None, network: bool = True) -> None:
        self.endpoint = (endpoint or local.endpoint()).rstrip("/")
        self.network = network
        self.src = local.token_source()
        self._cache: dict[tuple[Any, ...], Any] = {}
        self.log: list[dict[str, str]] = []      # every check run: id, target, result

    # -- plan -------------------------------------------------------------------------------
    def plan(self, findings: list[Any]) -> list[str]:
        """What will be checked, before anything is sent."""
        host = urlsplit(self.endpoint).netloc
        lines = [f"local: token source and format ({self.src.active_source}), ~/.netrc, environment, versions"]
        if self.network:
            if self.src.active:
                lines.append(f"network: GET {host}/api/whoami-v2 with the {self.src.active_source} token "
                             f"({local.fingerprint(self.src.active)})")
            for f in findings:
                repo = f.evidence.get("repo_id")
                if repo and "/" in repo:
                    lines.append(f"network: access check of {repo} on {host}")
                    if f.cause == "pyannote-download-failed":
                        lines.append(f"network: read {repo}'s config.yaml for its sub-models, then check each")
        else:
            lines.append("network checks off")
        return lines

    # -- cached facts -----------------------------------------------------------------------
    def _once(self, key: tuple[Any, ...], fn: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def _ask(self, check: str, target: str, key: tuple[Any, ...], call: Callable[[], Any]) -> Any:
        """One network check: asked once per run, recorded for the finding's probe report."""
        if not self.network:
            return None
        answer = self._once((check, *key), call)
        if check != "endpoint-reachable" and answer.answered and answer.ok:
            doubt = self._not_the_hub()
            if doubt:
                from .remote import Answer

                answer = Answer(False, failure=doubt)
        self._record(check, target, answer)
        return answer

    def _not_the_hub(self) -> str | None:
        """Why a success cannot be believed, if so: the Hub refuses an anonymous ``whoami-v2``
        (401); an endpoint that grants it (a captive portal, a catch-all mock or proxy) grants anything."""
        from . import remote

        r = self._once(("endpoint-reachable",), lambda: remote.reachable(self.endpoint))
        if r.answered and r.status is not None and 200 <= r.status < 300:
            return (f"{self.endpoint} answers an anonymous whoami-v2 with HTTP {r.status}: not the Hub API, "
                    "so its answers prove nothing")
        return None

    def whoami(self, token: str | None = None) -> Any:
        from . import remote

        token = (token or self.src.active or "").strip()
        if not token:
            return None
        return self._ask("whoami", local.fingerprint(token), (token,), lambda: remote.whoami(self.endpoint, token))

    def access(self, repo_id: str, repo_type: str = "model") -> Any:
        from . import remote

        token = self.src.active.strip() if self.src.active else None
        return self._ask("gated-access", repo_id, (repo_id, repo_type, token),
                         lambda: remote.repo_access(self.endpoint, repo_id, repo_type, token))

    def info(self, repo_id: str, repo_type: str = "model") -> Any:
        from . import remote

        token = self.src.active.strip() if self.src.active else None
        return self._ask("repo-exists", repo_id, (repo_id, repo_type, token),
                         lambda: remote.repo_info(self.endpoint, repo_id, repo_type, token))

    def reachable(self) -> Any:
        from . import remote

        return self._ask("endpoint-reachable", self.endpoint, (), lambda: remote.reachable(self.endpoint))

    def _record(self, check: str, target: str, answer: Any) -> None:
        result = describe(answer)
        if check == "pipeline-config" and answer is not None and answer.ok:
            result = "sub-models: " + (", ".join(answer.data.get("submodels", [])) or "none")
        entry = {"id": check, "target": target, "result": result}
        if entry not in self.log:
            self.log.append(entry)

    def _repos_of(self, finding: Any) -> list[str]:
        repo = finding.evidence.get("repo_id")
        if not repo or "/" not in repo:
            return []
        repos = [repo]
        if finding.cause == "pyannote-download-failed" or any(
                a["cause"] == "pyannote-download-failed" for a in finding.alternatives):
            repos += [r for r in self.submodels(repo) if r not in repos]
        return repos

    def submodels(self, pipeline: str) -> list[str]:
        """Sub-models of a pyannote pipeline: from its config.yaml when readable, else the known ones."""
        from . import remote

        known = PYANNOTE_SUBMODELS.get(pipeline, [])
        if not self.network:
            return known
        token = self.src.active.strip() if self.src.active else None
        answer = self._once(("config", pipeline, token),
                            lambda: remote.pipeline_submodels(self.endpoint, pipeline, token))
        if answer.ok:
            self._record("pipeline-config", pipeline, answer)
            return list(dict.fromkeys([*answer.data.get("submodels", []), *known]))
        return known

    # -- verdicts ---------------------------------------------------------------------------
    def verdict(self, cause: str, finding: Any) -> Verdict:
        fn = getattr(self, "_v_" + cause.replace("-", "_"), None)
        if fn is None:
            return Verdict(INCONCLUSIVE, "no live check can tell this cause from the log's")
        try:
            return fn(finding)
        except Exception as exc:  # a probe never crashes the run
            return Verdict(INCONCLUSIVE, f"check failed: {type(exc).__name__}")

    def _who(self) -> tuple[Any, str]:
        """(whoami answer, short description) for the active token."""
        if not self.src.active:
            return None, "no token in this environment"
        w = self.whoami()
        if w is None:
            return None, "network checks are off"
        if not w.answered:
            return w, f"{self.endpoint} did not answer ({w.failure})"
        if w.ok:
            from .remote import token_role

            role, _ = token_role(w.data)
            return w, f"the {self.src.active_source} token is valid (account {w.data.get('name', '?')}, role {role})"
        return w, f"the {self.src.active_source} token is rejected (HTTP {w.status})"

    def _v_token_missing(self, f: Any) -> Verdict:
        if not self.src.active:
            notes = "; ".join(self.src.notes)
            return Verdict(CONFIRMED, f"no token in this environment: HF_TOKEN and HUGGING_FACE_HUB_TOKEN unset, "
                                      f"no token file at {self.src.file}" + (f"; {notes}" if notes else ""))
        if self.src.notes:
            return Verdict(CONFIRMED, "; ".join(self.src.notes))
        w, what = self._who()
        if w is not None and w.answered and w.ok:
            return Verdict(INCONCLUSIVE, f"{what}: here a token would be sent, so the job ran without it "
                                         "(another user, container, CI job or HF_HOME?)")
        if w is not None and w.answered and w.status == 401:
            return Verdict(REFUTED, f"{what}: a token is set here, but the Hub refuses it")
        return Verdict(INCONCLUSIVE, what)

    def _v_token_invalid(self, f: Any) -> Verdict:
        if not self.src.active:
            return Verdict(REFUTED, "no token is set in this environment, so none could be rejected")
        w, what = self._who()
        if w is None or not w.answered:
            return Verdict(INCONCLUSIVE, what)
        if w.ok:
            return Verdict(REFUTED, what)
        if w.status == 401:
            return Verdict(CONFIRMED, what)
        return Verdict(INCONCLUSIVE, what)

    def _v_token_legacy(self, f: Any) -> Verdict:
        tok = (self.src.active or "").strip()
        if not tok:
            return Verdict(INCONCLUSIVE, "no token in this environment")
        if tok.startswith("api_org_") or tok.startswith("api_"):
            return Verdict(CONFIRMED, f"the active token is an {local.fingerprint(tok)}")
        return Verdict(REFUTED, f"the active token is a {local.fingerprint(tok)}")

    def _v_env_token_override(self, f: Any) -> Verdict:
        src = self.src
        var = "HF_TOKEN" if "HF_TOKEN" in src.env else "HUGGING_FACE_HUB_TOKEN" if src.env else None
        if var is None:
            return Verdict(REFUTED, "neither HF_TOKEN nor HUGGING_FACE_HUB_TOKEN is set here")
        env_tok = src.env[var]
        if not src.file_token:
            return Verdict(INCONCLUSIVE, f"{var} is set ({local.fingerprint(env_tok)}) and there is no stored login "
                                         "to compare it with")
        if not src.differs:
            return Verdict(REFUTED, f"{var} holds the same token as the stored login")
        fact = (f"{var} ({local.fingerprint(env_tok)}) differs from the stored login "
                f"({local.fingerprint(src.file_token)}) and takes precedence")
        w_env, w_file = self.whoami(env_tok), self.whoami(src.file_token)
        if w_env is not None and w_env.answered and w_file is not None and w_file.answered:
            if not w_env.ok and w_file.ok:
                fact += "; the Hub rejects the HF_TOKEN one and accepts the stored one"
            elif w_env.ok and w_file.ok and w_env.data.get("name") != w_file.data.get("name"):
                fact += f"; they belong to different accounts ({w_env.data.get('name')} vs {w_file.data.get('name')})"
        return Verdict(CONFIRMED, fact)

    def _gate(self, f: Any) -> tuple[Any, str]:
        repo = f.evidence.get("repo_id")
        if not repo or "/" not in repo:
            return None, "the log names no repo to check"
        if not self.network:
            return None, "network checks are off"
        a = self.access(repo, _repo_type(f))
        return a, describe(a)

    def _gated_like(self, f: Any, needle: str) -> Verdict:
        a, what = self._gate(f)
        if a is None or not a.answered:
            return Verdict(INCONCLUSIVE, what)
        repo = f.evidence.get("repo_id")
        if a.ok:
            return Verdict(REFUTED, f"{repo} is readable with this environment's token now")
        if a.status == 403 and needle in (a.message or ""):
            return Verdict(CONFIRMED, f"{repo}: {a.message}")
        if a.status == 401 and not self.src.active:
            return Verdict(INCONCLUSIVE, f"{repo}: 401 without a token here, so access cannot be tested")
        return Verdict(REFUTED if a.status == 403 else INCONCLUSIVE, f"{repo}: {what}")

    def _v_gated_not_accepted(self, f: Any) -> Verdict:
        return self._gated_like(f, "not in the authorized list")

    def _v_gated_pending(self, f: Any) -> Verdict:
        return self._gated_like(f, "awaiting a review")

    def _v_gated_rejected(self, f: Any) -> Verdict:
        a, _ = self._gate(f)
        if a is not None and a.answered and "has been reset" in (a.message or ""):
            return Verdict(CONFIRMED, f"{f.evidence.get('repo_id')}: {a.message}")
        return self._gated_like(f, "has been rejected")

    def _v_token_scope(self, f: Any) -> Verdict:
        from .remote import token_role

        w, what = self._who()
        if w is None or not w.answered or not w.ok:
            return Verdict(INCONCLUSIVE, what)
        role, fine = token_role(w.data)
        if role != "fineGrained":
            return Verdict(REFUTED, f"{what}: not a fine-grained token")
        if not fine.get("canReadGatedRepos"):
            return Verdict(CONFIRMED, f"{what}: fine-grained, without read access to public gated repos")
        a, desc = self._gate(f)
        if a is not None and a.answered and not a.ok and a.status == 403 and not a.error_code:
            return Verdict(CONFIRMED, f"{what}; {desc}")
        return Verdict(INCONCLUSIVE, f"{what}: fine-grained with gated-repo access")

    def _v_token_read_only(self, f: Any) -> Verdict:
        from .remote import token_role

        w, what = self._who()
        if w is None or not w.answered or not w.ok:
            return Verdict(INCONCLUSIVE, what)
        role, _ = token_role(w.data)
        if role == "read":
            return Verdict(CONFIRMED, what)
        if role == "write":
            return Verdict(REFUTED, what + " (it may still lack rights in that namespace)")
        return Verdict(INCONCLUSIVE, what)

    def _v_repo_not_found(self, f: Any) -> Verdict:
        repo = f.evidence.get("repo_id")
        if not repo or "/" not in repo:
            return Verdict(INCONCLUSIVE, "the log names no repo to check")
        i = self.info(repo, _repo_type(f))
        if i is None or not i.answered:
            return Verdict(INCONCLUSIVE, describe(i))
        if i.ok:
            return Verdict(REFUTED, f"{repo} exists and this environment's token can see it")
        if i.status in (401, 404):
            who = "this environment's token" if self.src.active else "an anonymous request"
            return Verdict(CONFIRMED, f"{repo} is not visible to {who} (HTTP {i.status})")
        return Verdict(INCONCLUSIVE, describe(i))

    def _v_repo_disabled(self, f: Any) -> Verdict:
        repo = f.evidence.get("repo_id")
        i = self.info(repo, _repo_type(f)) if repo else None
        if i is not None and i.answered and i.ok:
            disabled = bool(i.data.get("disabled"))
            return Verdict(CONFIRMED if disabled else REFUTED, f"{repo}: disabled={disabled}")
        return Verdict(INCONCLUSIVE, describe(i))

    def _v_netrc_conflict(self, f: Any) -> Verdict:
        host = urlsplit(self.endpoint).hostname or "huggingface.co"
        entry = local.netrc_entry(host)
        if entry is None:
            return Verdict(REFUTED, f"no '{host}' or default entry in ~/.netrc or $NETRC")
        if "error" in entry:
            return Verdict(INCONCLUSIVE, f"{entry['path']}: {entry['error']}")
        requests_based = _job_requests_based(f)
        installed = local.installed_versions().get("huggingface_hub")
        if requests_based is None and f.cause == "netrc-conflict":
            requests_based = True       # the log's shape (Basic credentials sent) only arises with requests
        if requests_based is None:
            mm = local.major_minor(installed)
            requests_based = mm is not None and mm[0] == 0
        fact = f"{entry['path']} has a '{entry['machine']}' entry (login {entry['login'] or '-'})"
        if requests_based:
            return Verdict(CONFIRMED, fact + "; requests-based huggingface_hub (≤ 0.36) sends it instead of the token")
        return Verdict(REFUTED, fact + f", but huggingface_hub {installed or '≥ 1.0'} (httpx) ignores ~/.netrc")

    def _v_git_credentials(self, f: Any) -> Verdict:
        helpers = local.git_credential_helpers()
        if helpers is None:
            return Verdict(INCONCLUSIVE, "git is not installed here")
        if not helpers:
            return Verdict(CONFIRMED, "no git credential helper is configured: git has no token to send "
                                      "unless one is typed in")
        host = urlsplit(self.endpoint).hostname or "huggingface.co"
        stored = local.git_stored_token(host, helpers)
        if stored is not None and self.network:
            path, token = stored
            w = self.whoami(token)
            if w is not None and w.answered and not w.ok and w.status == 401:
                return Verdict(CONFIRMED, f"{path} holds a token for {host} ({local.fingerprint(token)}) "
                                          "that the Hub rejects")
            if w is not None and w.answered and w.ok:
                return Verdict(INCONCLUSIVE, f"{path} holds a valid token for {host} "
                                             f"({local.fingerprint(token)}, account {w.data.get('name', '?')})")
        return Verdict(INCONCLUSIVE, "git credential helpers: " + ", ".join(helpers) +
                       " — one of them may hold a stale token for " + host)

    def _v_auth_kwarg_mismatch(self, f: Any) -> Verdict:
        v = local.installed_versions()
        hfh, pya, wx = (local.major_minor(v.get(k)) for k in ("huggingface_hub", "pyannote.audio", "whisperx"))
        if hfh and hfh[0] >= 1 and pya and pya[0] < 4:
            return Verdict(CONFIRMED, f"pyannote.audio {v['pyannote.audio']} passes use_auth_token, which "
                                      f"huggingface_hub {v['huggingface_hub']} removed")
        if wx and wx >= (3, 8):
            return Verdict(INCONCLUSIVE, f"whisperx {v['whisperx']} takes token=, not use_auth_token=")
        return Verdict(INCONCLUSIVE, "installed: " + ", ".join(f"{k} {x}" for k, x in v.items() if x))

    def _v_pyannote_download_failed(self, f: Any) -> Verdict:
        repos = self._repos_of(f)
        if not repos:
            repos = ["pyannote/speaker-diarization-3.1", "pyannote/segmentation-3.0"]
        if not self.network:
            return Verdict(INCONCLUSIVE, "network checks are off")
        blocked = []
        for repo in repos:
            a = self.access(repo)
            if a is None or not a.answered:
                return Verdict(INCONCLUSIVE, describe(a))
            if not a.ok:
                blocked.append(f"{repo} ({describe(a)})")
        if blocked:
            return Verdict(CONFIRMED, "not readable with this environment's token: " + "; ".join(blocked))
        return Verdict(REFUTED, "readable with this environment's token: " + ", ".join(repos))

    def _v_offline_mode(self, f: Any) -> Verdict:
        var = local.offline_enabled()
        if var:
            return Verdict(CONFIRMED, f"{var} is set here")
        return Verdict(INCONCLUSIVE, "no offline variable is set here (local_files_only=True in the code?)")

    def _v_network_error(self, f: Any) -> Verdict:
        r = self.reachable()
        if r is None:
            return Verdict(INCONCLUSIVE, "network checks are off")
        if r.answered:
            return Verdict(REFUTED, f"{self.endpoint} answers from here (HTTP {r.status}): look for an HTTP error "
                                    "masked as 'couldn't connect' earlier in the log")
        return Verdict(CONFIRMED, f"{self.endpoint} does not answer from here: {r.failure}")


def describe(answer: Any) -> str:
    if answer is None:
        return "not checked"
    if not answer.answered:
        return f"no answer ({answer.failure})"
    if answer.ok:
        return "ok"
    code = f" {answer.error_code}" if answer.error_code else ""
    msg = f": {answer.message}" if answer.message else ""
    return f"HTTP {answer.status}{code}{msg}"


def _repo_type(f: Any) -> str:
    url = f.evidence.get("url") or ""
    return "dataset" if "/datasets/" in url else "space" if "/spaces/" in url else "model"


def _job_requests_based(f: Any) -> bool | None:
    from ..versions import implied

    text = "\n".join(e.text for e in f.events)
    return implied(text).requests_based


def apply(prober: Prober, findings: list[Any], rules: list[Any]) -> list[Any]:
    """Probe each finding and its alternatives; re-rank: refuted causes drop, confirmed ones rise."""
    best_rule: dict[str, Any] = {}
    for r in rules:
        if r.cause not in best_rule or r.confidence > best_rule[r.cause].confidence:
            best_rule[r.cause] = r
    for f in findings:
        main = prober.verdict(f.cause, f)
        alt_verdicts = {a["cause"]: prober.verdict(a["cause"], f) for a in f.alternatives}
        for a in f.alternatives:
            a["probe"] = {"status": alt_verdicts[a["cause"]].status, "fact": alt_verdicts[a["cause"]].fact}
        confirmed_alt = next((a for a in f.alternatives if alt_verdicts[a["cause"]].status == CONFIRMED), None)
        if main.status != CONFIRMED and confirmed_alt is not None and confirmed_alt["cause"] in best_rule:
            _promote(f, confirmed_alt, main, best_rule[confirmed_alt["cause"]])
            main = alt_verdicts[f.cause]
        f.probe = {"status": main.status, "fact": main.fact, "checks": list(prober.log)}
        if main.status == CONFIRMED:
            f.confidence = max(f.confidence, 0.95)
        elif main.status == REFUTED:
            f.confidence = round(f.confidence * 0.3, 2)
    return sorted(findings, key=lambda x: (-x.confidence, x.evidence["lines"][0]))


def _promote(f: Any, alt: dict[str, Any], old: Verdict, rule: Any) -> None:
    """The confirmed alternative becomes the finding's cause; the old cause becomes an alternative."""
    from ..findings import fill_fix
    from ..rules import render_template

    f.alternatives = [a for a in f.alternatives if a is not alt]
    f.alternatives.insert(0, {"cause": f.cause, "confidence": round(f.confidence * 0.3, 2),
                              "separated_by": "probe: " + old.fact,
                              "probe": {"status": old.status, "fact": old.fact}})
    f.cause, f.rule = alt["cause"], rule.id
    f.title = render_template(rule.title, f.variables)
    f.why = render_template(rule.description, f.variables)
    f.fix = fill_fix(rule, f.variables)
    f.confidence = max(float(alt.get("confidence", 0.5)), 0.9)
