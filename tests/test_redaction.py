"""Secrets never reach any output, wherever they sit in the input and however it is read."""

from __future__ import annotations

from conftest import make_token, run_hfx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.reader import MAX_LINE, Scanner
from analyzer.redact import redact
from analyzer.splitter import Splitter


def secrets() -> dict[str, str]:
    return {
        "hf": make_token("hf_"),
        "org": make_token("api_org_"),
        "oauth": make_token("hf_oauth_", 40),
        "bearer": make_token("", 40),
        "query": make_token("", 24),
        "cookie": make_token("", 32),
    }


def test_redact_each_kind():
    s = secrets()
    lines = [
        f"export HF_TOKEN={s['hf']}",
        f"token={s['org']!r}",
        f"login(token=\"{s['oauth']}\")",
        f"-H 'Authorization: Bearer {s['bearer']}'",
        f"GET https://huggingface.co/api/x?token={s['query']}&a=1",
        f"Cookie: token={s['cookie']}; other=1",
    ]
    out = "\n".join(redact(line) for line in lines)
    for value in s.values():
        assert value not in out and value[-12:] not in out


def test_token_split_across_chunks_and_cut_lines():
    tok = make_token()
    data = (b"x " * ((MAX_LINE - 10) // 2) + tok.encode() + b" tail\nTraceback (most recent call last):\n"
            b"OSError: 401 Client Error: Unauthorized for url: https://huggingface.co/acme/m/resolve/main/c.json "
            + tok.encode() + b"\n")
    seen: list[str] = []

    class Sink:
        idle = True

        def feed(self, lineno: int, text: str) -> None:
            seen.append(text)

    for size in (1, 5, 4096):
        seen.clear()
        sc = Scanner(Sink(), None)
        for i in range(0, len(data), size):
            sc.feed(data[i:i + size])
        sc.close()
        joined = "".join(seen)
        assert tok not in joined and tok[3:15] not in joined and tok[-10:] not in joined, size
    assert Splitter  # the same reader feeds the splitter in every mode


def test_no_output_format_leaks(tmp_path):
    s = secrets()
    log = tmp_path / "e.log"
    body = "\n".join([
        f"export HF_TOKEN={s['hf']}",
        "Traceback (most recent call last):",
        f"  File \"/app/x.py\", line 3, in <module>\n    hf_hub_download('acme/gated', 'c.json', token=\"{s['hf']}\")",
        "huggingface_hub.errors.GatedRepoError: 403 Client Error. (Request ID: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7)",
        "",
        f"Cannot access gated repo for url https://huggingface.co/acme/gated/resolve/main/c.json?token={s['query']}.",
        "Access to model acme/gated is restricted and you are not in the authorized list. Visit https://huggingface.co/acme/gated to ask for access.",
        f"> authorization: Bearer {s['bearer']}",
        f"Cookie: session={s['cookie']}",
        f"api key {s['org']} and {s['oauth']}",
    ])
    log.write_text(body + "\n")
    for fmt in ("text", "json", "jsonl", "markdown"):
        proc = run_hfx("--format", fmt, str(log))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1
        for value in s.values():
            assert value.encode() not in out, (fmt, value[:6])


def test_secret_in_a_printed_dict_or_json():
    """diffusers prints ignored kwargs as a dict: {'use_auth_token': '<value>'}; JSON logs do the same."""
    value = make_token("", 24)
    for line in (f"Keyword arguments {{'use_auth_token': '{value}'}} are not expected by DDPMPipeline and will be ignored.",
                 f'{{"token": "{value}", "repo": "acme/m"}}'):
        assert value not in redact(line)


_WORDS = ["Authorization: Bearer ", "bearer ", "Cookie: ", "?token=", "&sig=", "https://user:", "@", "token='",
          "password=\"", "HF_TOKEN=", "machine huggingface.co login u password ", "eyJ", ".", "hf_", "api_org_",
          "tokenizer", "ſecret='", "authorızation: ", "AUTHORIZATION: BEARER ", "PassWord='", "K", " ", "'", "\""]
_SECRETISH = st.text(alphabet="abcXYZ0123456789_-.", min_size=0, max_size=40)


@settings(deadline=None, max_examples=400, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.sampled_from(_WORDS), _SECRETISH), max_size=12).map("".join))
def test_skipping_patterns_by_hint_never_masks_less(line):
    """Each pattern runs only when one of its hints is in the lowered line; running them all must
    give the same text (non-ASCII lines, where (?i) and lower() disagree, run them all)."""
    from analyzer import redact as R

    every = line
    for _, pattern, repl, _ in R._PATTERNS:           # no pre-check at all
        every = pattern.sub(repl, every)
    assert redact(line) == every


@settings(deadline=None, max_examples=300, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.sampled_from(_WORDS), _SECRETISH), max_size=12).map("".join),
       st.integers(0, 20_000), st.sampled_from(["hf_abc", "Bearer abc", "https://u:pa", "token='abc", "eyJhbGciOi.eyJz"]))
def test_a_cut_piece_is_masked_from_its_last_run(head, filler, tail):
    """redact_cut looks at the last non-blank run and what precedes it, not the whole piece."""
    from analyzer.redact import _TAIL, _keep_prefix, redact_cut

    line = head + " x y " + "x y " * (filler // 4) + tail
    if len(line) <= 1000:                 # the window is the whole piece: exactly the full pass
        assert redact_cut(line) == _TAIL.sub(_keep_prefix, redact(line))
    plain = "INFO: step 1 " + "x y " * (filler // 4) + tail
    assert redact_cut(plain).endswith("***") and tail[-3:] not in redact_cut(plain)[-8:]
