"""Hostile input: hfexplain never crashes, never leaks a secret, stays linear and bounded.

1. Properties (hypothesis) over the reader, the splitter, the engine and every renderer: any bytes
   in any chunking — invalid UTF-8, NULs, ANSI and control garbage, ``\\r``-only endings, lines
   past the cut length — raise nothing, yield bounded lines, and split the same however chunked.
2. The big cases through the installed CLI as a child process whose own peak RSS is read with
   ``os.wait4``: a 50 MB line, no newline at all, 10 000 chained exceptions, a 200 000-frame
   traceback, random bytes, floods of distinct failures.
3. Redaction: tokens of every kind at random offsets and chunk splits through the real Scanner,
   the engine and every renderer; and through ``hfexplain --format text|json|jsonl|markdown``,
   stdin, ``--watch``, ``run`` and ``--probe`` with tokens placed across read chunks and line cuts.
4. ReDoS: every rule pattern, the redactor's, the splitter's and hub.py's on near-misses, in time
   linear in the line length; a user rule with a catastrophic pattern is named in a warning.
5. Rules are data: YAML tags, aliases and deep nesting are refused (exit 2); fix templates render
   attribute and format syntax inertly; loading and running a rule opens no other file and no socket.

Timings are never compared with a fixed wall-clock number alone: sizes are compared with each
other (a quadratic cost shows as a ratio), with generous bounds for a loaded 2-core machine.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import hostile_inputs as H
import pytest
from conftest import hfx_command, run_hfx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import rules as rules_mod
from analyzer.engine import Engine
from analyzer.findings import KEPT_CHARS, KEPT_ROWS, Incidents
from analyzer.reader import CHUNK, MAX_LINE, Scanner
from analyzer.redact import redact
from analyzer.render import jsonout, markdown, textout
from analyzer.rules import load_rules
from analyzer.ruletest import lint_patterns
from analyzer.splitter import Splitter

RULES = load_rules()
SETTINGS = settings(deadline=None, max_examples=60, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


# -- helpers ---------------------------------------------------------------------------------------
class Lines:
    """A LineSink recording what the reader hands on."""

    idle = True

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    def feed(self, lineno: int, text: str) -> None:
        self.seen.append((lineno, text))


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    out, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        out.append(data[i:i + n])
        i, k = i + n, k + 1
    return out


def scan_lines(data: bytes, sizes: list[int]) -> list[tuple[int, str]]:
    sink = Lines()
    sc = Scanner(sink, None)
    for c in chunked(data, sizes):
        sc.feed(c)
    sc.close()
    return sink.seen


def engine_findings(data: bytes, sizes: list[int]) -> list:
    engine = Engine(RULES)
    feed = engine.open("hostile.log")
    for c in chunked(data, sizes):
        feed.feed(c)
    feed.close()
    return engine.findings()


def render_all(findings: list) -> str:
    """Every renderer on the findings; the JSON forms must parse back."""
    out = io.StringIO()
    for f in findings:
        lines = textout.finding_lines(f)
        textout.plain(lines, out)
        textout.rich(lines, out)
        assert json.loads(jsonout.line(f))["cause"] == f.cause
    textout.plain(textout.summary_lines(findings, ["hostile.log"]), out)
    doc = jsonout.dumps(["hostile.log"], findings)
    assert len(json.loads(doc)["findings"]) == len(findings)
    out.write(doc)
    out.write(markdown.document(["hostile.log"], findings))
    return out.getvalue()


def best_time(fn, runs: int = 2) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run_measured(args: list[str], *, stdin: Path | None = None, env: dict | None = None,
                 timeout: float = 120) -> tuple[int, bytes, bytes, float, float]:
    """The CLI as a child: (exit code, stdout, stderr, its own peak RSS in MB, wall seconds)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            open(stdin if stdin else os.devnull, "rb") as inp:
        code, rss, wall = H.measure([*hfx_command(), *args], stdin=inp, stdout=out, stderr=err,
                                    env={**os.environ, "NO_COLOR": "1", **(env or {})}, timeout=timeout)
        if code is None:
            pytest.fail(f"hfexplain {' '.join(args)} did not finish within {timeout} s")
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read(), rss, wall


# -- strategies ------------------------------------------------------------------------------------
FRAGMENTS = [
    b"Traceback (most recent call last):", b'  File "/srv/app/x.py", line 12, in <module>', b"    f()",
    b"huggingface_hub.errors.GatedRepoError: 403 Client Error.", b"OSError: You are trying to access a gated repo.",
    b"Access to model google/gemma-7b is restricted and you are not in the authorized list.",
    b"Cannot access gated repo for url https://huggingface.co/google/gemma-7b/resolve/main/config.json.",
    b"The above exception was the direct cause of the following exception:",
    b"During handling of the above exception, another exception occurred:",
    b"  + Exception Group Traceback (most recent call last):", b"  | ExceptionGroup: x (2 sub-exceptions)",
    b"  +-+---------------- 1 ----------------", b"    +------------------------------------",
    b"[rank0]: ", b"[rank1]:   File \"a.py\", line 1", b"app-1  | ", b"2024-10-16 01:43:07,123 - ERROR - ",
    b'DEBUG:urllib3.connectionpool:https://huggingface.co:443 "GET /api/models/a/b/revision/main HTTP/1.1" 401 0',
    b'HTTP Request: GET https://huggingface.co/a/b/resolve/main/x.json "HTTP/1.1 403 Forbidden"',
    b"Request 0a1b2c3d: GET https://huggingface.co/api/whoami-v2 (authenticated: False)",
    b"> GET /api/whoami-v2 HTTP/2", b"< HTTP/2 401", b"< x-error-code: GatedRepo", b"* Connected to huggingface.co",
    b"send: b'GET /x HTTP/1.1\\r\\nHost: huggingface.co\\r\\n'", b"reply: 'HTTP/1.1 401 Unauthorized\\r\\n'",
    b"remote: Invalid username or password.", b"fatal: Authentication failed for 'https://huggingface.co/a/b/'",
    b"Could not download 'pyannote/segmentation-3.0' model.", b"'NoneType' object has no attribute 'to'",
    b"Invalid user token.", b"ValueError: Invalid token passed!", b"(Request ID: Root=1-670f1a2b-3c4d5e6f)",
    *H.ANSI, *H.INVALID_UTF8, b"\x00", b"\x00" * 40, b"x" * 300, b"a." * 100, b"eyJ" * 50,
    b"Authorization:" + b" " * 200, b"hf_" * 20, b"https://" * 30, b"\xe2\x96\x88" * 20,
]
SEPARATORS = [b"\n", b"\r\n", b"\r", b"", b" ", b"\n\n", b"\r\r\n"]

log_bytes = st.lists(
    st.tuples(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=40),
                        st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass"))),
              st.sampled_from(SEPARATORS)).map(lambda p: p[0] + p[1]),
    max_size=80,
).map(b"".join)
any_bytes = st.one_of(log_bytes, st.binary(max_size=4000))
chunk_sizes = st.lists(st.integers(1, 5000), min_size=1, max_size=8)


# -- 1. properties ---------------------------------------------------------------------------------
@SETTINGS
@given(any_bytes, chunk_sizes)
def test_reader_total_bounded_and_chunk_invariant(data, sizes):
    whole = scan_lines(data, [len(data) or 1])
    assert scan_lines(data, sizes) == whole, "the lines must not depend on how the bytes arrived"
    last = 1
    for lineno, text in whole:
        assert isinstance(text, str) and len(text) <= MAX_LINE
        assert not any(c in text for c in "\x00\x1b\x07\x7f")
        assert last <= lineno <= data.count(b"\n") + 1
        last = lineno


@SETTINGS
@given(any_bytes, chunk_sizes)
def test_engine_and_every_renderer_total(data, sizes):
    findings = engine_findings(data, sizes)
    whole = engine_findings(data, [len(data) or 1])
    key = [(f.cause, f.rule, f.evidence["lines"]) for f in findings]
    assert key == [(f.cause, f.rule, f.evidence["lines"]) for f in whole]
    render_all(findings)


@SETTINGS
@given(st.lists(st.sampled_from([*FRAGMENTS, b""]), max_size=60), st.sampled_from(SEPARATORS[:3]))
def test_splitter_events_total(parts, sep):
    events = []
    sp = Splitter(events.append, Engine(RULES).message_trigger)
    for i, part in enumerate(sep.join(parts).decode("utf-8", "replace").splitlines(), 1):
        sp.feed(i, part)
    sp.close()
    for ev in events:
        assert ev.kind in ("traceback", "http", "git", "message")
        assert ev.first_line <= ev.last_line or ev.kind == "traceback"
        assert len(ev.rows) <= 4 * 400 + 1


def test_chain_and_frames_bounded_in_process():
    """10 000 chained exceptions and a 200 000-frame traceback: one event each, bounded rows."""
    for gen in (H.chained(10_000), H.deep_traceback(50_000)):
        engine = Engine(RULES)
        events = []
        sp = Splitter(events.append, engine.message_trigger)
        sc = Scanner(sp, engine.trigger_bytes)
        for chunk in gen:
            sc.feed(chunk)
        sc.close()
        sp.close()
        big = max(events, key=lambda e: len(e.exceptions))
        assert len(big.rows) <= 1600 and len(big.exceptions) <= 61
        assert big.exceptions[-1].short == "GatedRepoError"
        assert all(len(e.frames) <= 41 for e in big.exceptions)


# -- 2. the big cases through the CLI --------------------------------------------------------------
BIG = [
    ("line-50MB", lambda: H.one_long_line(50 * H.MB, every=4 * H.MB), True),
    ("line-4MB-dense", lambda: H.one_long_line(4 * H.MB), True),
    ("no-newline-4MB", lambda: H.no_newline(4 * H.MB), False),
    ("chain-10k", lambda: H.chained(10_000), True),
    ("frames-200k", lambda: H.deep_traceback(200_000), True),
    ("random-bytes-20MB", lambda: H.random_bytes(20 * H.MB), True),
    ("invalid-utf8-2MB", lambda: H.invalid_utf8(2 * H.MB), True),
    ("nul-2MB", lambda: H.nuls(2 * H.MB), True),
    ("ansi-2MB", lambda: H.ansi_garbage(2 * H.MB), True),
    ("cr-only-20MB", lambda: H.cr_only(20 * H.MB), True),
    ("http-flood-10k", lambda: H.http_flood(10_000), True),
    ("fat-findings-1100", lambda: H.fat_findings(1100, 1), True),
]
PEAK_MB = 64         # the target for any input: interpreter and rules ~20 MB, the reader ~1 MiB + lines,
                     # the kept findings at most KEPT_BUDGET of event text plus their evidence


@pytest.mark.parametrize("name,gen,gated", BIG, ids=[b[0] for b in BIG])
def test_big_inputs_through_the_cli(tmp_path, name, gen, gated):
    log = tmp_path / f"{name}.log"
    size = H.write(log, gen())
    code, out, err, rss, wall = run_measured(["--format", "json", str(log)], timeout=180)
    assert code in (0, 1), err.decode(errors="replace")
    assert b"Traceback (most recent call last)" not in err and b"internal error" not in err, err[-2000:]
    doc = json.loads(out)
    if gated:
        assert H.GATED_CAUSE in [f["cause"] for f in doc["findings"]], "the real failure after the garbage"
    assert rss < PEAK_MB, f"{name}: peak RSS {rss:.0f} MB for {size / H.MB:.0f} MB of input"
    print(f"{name}: {size / H.MB:.1f} MB in {wall:.2f} s, peak RSS {rss:.0f} MB")


def test_parallel_scan_of_one_huge_line_stays_flat(tmp_path):
    """Forked workers cut a big file at line starts: finding one must not read a 50 MB line whole."""
    log = tmp_path / "line.log"
    size = H.write(log, H.one_long_line(50 * H.MB, every=4 * H.MB))
    code, out, err, rss, _ = run_measured(["--format", "json", str(log)],
                                          env={"HFEXPLAIN_PARALLEL_MIN_BYTES": str(H.MB)})
    assert code == 1 and H.GATED_CAUSE in out.decode(), err.decode()
    assert rss < 45, f"peak RSS {rss:.0f} MB for one {size // H.MB} MB line scanned in parallel"


def test_interleaved_repeats_of_many_repos_are_one_incident_each():
    """200 repos failing in turn, 4 rounds: a repo's repeat comes 200 incidents later and still merges."""
    engine = Engine(RULES)
    engine.scan_text(b"".join(H.fat_findings(200, 4, rows=2)))
    counts = {f.repo_id: f.count for f in engine.findings()}
    assert counts.pop("google/gemma-7b") == 1                 # the generator's closing traceback
    assert len(counts) == 200 and set(counts.values()) == {4}


def test_fat_events_keep_memory_flat():
    """A finding keeps its event's edges cut to size, not 40 lines of 16 KB per incident."""
    engine = Engine(RULES)
    engine.scan_text(b"".join(H.fat_events(3)))
    for f in engine.findings():
        for ev in f.events:
            assert len(ev.rows) <= KEPT_ROWS and all(len(t) <= KEPT_CHARS for _, t in ev.rows)
            assert sum(len(e.message) for e in ev.exceptions) <= KEPT_ROWS * KEPT_CHARS
            assert not any(k.startswith("_") for k in ev.fields)


def test_distinct_failures_are_capped_and_merged_in_linear_time(monkeypatch):
    import analyzer.findings as findings_mod

    monkeypatch.setattr(findings_mod, "MAX_FINDINGS", 50)

    def run(n: int) -> Engine:
        engine = Engine(RULES)
        engine.scan_text(b"".join(H.http_flood(n)))           # bare HTTP 401s, then the gated traceback
        return engine

    engine = run(400)
    found = engine.findings()
    assert len(found) == 50 and engine.incidents.dropped == 351
    assert found[0].repo_id == "google/gemma-7b", "a more confident failure displaces a weaker one"
    small = best_time(lambda: run(1_000))
    large = best_time(lambda: run(4_000))
    assert large / small < 8, f"4× the failures took {large / small:.1f}× the time (quadratic merging?)"


def test_incidents_still_merge_repeats():
    """The cap and the recent window do not stop one failure repeated 5 000 times from being one finding."""
    engine = Engine(RULES)
    engine.scan_text(H.GATED * 2000)
    (f,) = engine.findings()
    assert f.count == 2000 and len(f.events) <= 16
    assert isinstance(engine.incidents, Incidents) and engine.incidents.dropped == 0


# -- 3. redaction ---------------------------------------------------------------------------------
def letters(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(n))


def secret_cases(rnd: random.Random) -> list[tuple[str, str, str]]:
    """(kind, a log line carrying the secret, the secret) — tokens built at run time."""
    v = {k: letters(rnd, 40) for k in ("bearer", "bare", "query", "cookie", "setcookie", "netrc", "userinfo",
                                       "env", "assign", "proxy")}
    hf, org, oauth = "hf_" + letters(rnd, 34), "api_org_" + letters(rnd, 34), "hf_oauth_" + letters(rnd, 40)
    jwt = "eyJ" + letters(rnd, 30) + "." + letters(rnd, 60) + "." + letters(rnd, 43)
    return [
        ("hf", f"using token {hf} for the download", hf),
        ("api_org", f"HF_API_KEY is {org} (org token)", org),
        ("oauth", f"oauth access {oauth} expired", oauth),
        ("authorization", f"> Authorization: Bearer {v['bearer']}", v["bearer"]),
        ("proxy-authorization", f"headers={{'Proxy-Authorization': 'Basic {v['proxy']}'}}", v["proxy"]),
        ("bearer", f"curl -H 'Bearer {v['bare']}' https://huggingface.co/api/whoami-v2", v["bare"]),
        ("url-token", f"GET https://huggingface.co/api/models/a/b?token={v['query']}&x=1", v["query"]),
        ("cookie", f"Cookie: theme=dark; session={v['cookie']}; lang=en", v["cookie"]),
        ("set-cookie", f"< set-cookie: token={v['setcookie']}; Path=/; HttpOnly", v["setcookie"]),
        ("jwt", f"id_token {jwt} issued", jwt),
        ("netrc", f"machine huggingface.co login __token__ password {v['netrc']}", v["netrc"]),
        ("url-userinfo", f"fatal: unable to access 'https://user:{v['userinfo']}@huggingface.co/a/b.git/'",
         v["userinfo"]),
        ("env", f"+ HF_TOKEN={v['env']} python train.py", v["env"]),
        ("assignment", f"    login(token=\"{v['assign']}\")", v["assign"]),
    ]


def leaks(secret: str, text: str, window: int = 10) -> list[str]:
    """Every ``window``-character piece of the secret that shows in text."""
    return [secret[i:i + window] for i in range(len(secret) - window + 1) if secret[i:i + window] in text]


KINDS = [k for k, _, _ in secret_cases(random.Random(0))]
filler = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(deadline=None, max_examples=200, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(KINDS), filler, filler, st.sampled_from(["line-cut", "chunk-end", "anywhere"]),
       st.integers(-60, 60), st.integers(0, 80_000), chunk_sizes, st.sampled_from(["\n", " ", "\t"]),
       st.integers(0, 2**32))
def test_redaction_anywhere_in_any_chunking(kind, before, after, where, delta, pad, sizes, sep, seed):
    """A secret of each kind with random text around it and any chunking — placed where the
    reader cuts: across the MAX_LINE cut of a long line (``line-cut``), across a chunk end inside
    a line too long to wait for (``chunk-end``), or anywhere: no 10 characters of it show."""
    _, line, secret = next(c for c in secret_cases(random.Random(seed)) if c[0] == kind)
    prefix = (before + sep).encode("utf-8", "surrogatepass")
    line_start = len(prefix)
    secret_in_line = line.index(secret)
    if where == "line-cut":             # the secret starts about MAX_LINE bytes into its line
        pad = max(0, MAX_LINE + delta - secret_in_line)
    elif where == "chunk-end":          # a line past 4 × MAX_LINE is handed on up to the chunk's end
        pad = 5 * MAX_LINE
    body = ("x " * (pad // 2) + " " * (pad % 2) + line + sep + after + "\n").encode("utf-8", "surrogatepass")
    data = prefix + body
    if where == "chunk-end":
        sizes = [line_start + pad + secret_in_line + delta, *[s * 17 for s in sizes]]
    else:
        sizes = [s * 17 for s in sizes]
    out = "\n".join(t for _, t in scan_lines(data, sizes))
    assert not leaks(secret, out), (kind, where, delta)


@settings(deadline=None, max_examples=40, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(KINDS), st.one_of(st.integers(-60, 60), st.integers(0, 40_000).map(lambda n: n + 10**6)),
       chunk_sizes, st.integers(0, 2**32), st.sampled_from(["plain", "ansi", "cr", "rank"]))
def test_redaction_through_engine_and_renderers(kind, place, sizes, seed, style):
    """The secret sits in the lines that become evidence — around the MAX_LINE cut of the
    message line (``place`` in -60…60) or after any padding — and no renderer shows any of it."""
    _, line, secret = next(c for c in secret_cases(random.Random(seed)) if c[0] == kind)
    head = len("Access to model acme/m is restricted and you are not in the authorized list. ")
    pad = place - 10**6 if place >= 10**6 else max(0, MAX_LINE + place - head - line.index(secret))
    log = incident("acme/m", line, pad)
    if style == "ansi":
        log = b"".join(b"\x1b[31m" + x + b"\x1b[0m\n" for x in log.splitlines())
    elif style == "cr":
        log = log.replace(b"\n", b"\r")
    elif style == "rank":
        log = b"".join(b"[rank3]: " + x + b"\n" for x in log.splitlines())
    findings = engine_findings(log, [s * 13 for s in sizes])
    assert findings, "the incident is found"
    assert not leaks(secret, render_all(findings)), kind


def test_redaction_is_idempotent():
    for _, line, _ in secret_cases(random.Random(5)):
        once = redact(line)
        assert redact(once) == once, once


def incident(repo: str, line: str, pad: int = 0) -> bytes:
    """A gated-repo traceback whose exception lines carry ``line`` (so it lands in the excerpt),
    the second time after ``pad`` characters on a line of its own (cut into pieces when long)."""
    return (
        "Traceback (most recent call last):\n"
        f'  File "/srv/app/serve.py", line 12, in <module>\n    {line}\n'
        f"huggingface_hub.errors.GatedRepoError: 403 Client Error. {line}\n"
        "\n"
        f"Cannot access gated repo for url https://huggingface.co/{repo}/resolve/main/config.json.\n"
        f"Access to model {repo} is restricted and you are not in the authorized list. "
        + "x " * (pad // 2) + line + f" Visit https://huggingface.co/{repo} to ask for access.\n"
    ).encode()


def secrets_log(tmp_path: Path, seed: int = 11) -> tuple[Path, list[tuple[str, str]]]:
    """A log over 2 read chunks with each kind of secret in every placement: on evidence lines,
    across the MAX_LINE cut of a long line, across the 1 MiB read-chunk boundary of a 70 KB line,
    in ANSI colour and with CR-only endings. Each placement is its own incident (its own repo)."""
    rnd = random.Random(seed)
    cases = secret_cases(rnd)
    out = bytearray()
    secrets = []
    for i, (kind, line, secret) in enumerate(cases):
        secrets.append((kind, secret))
        out += incident(f"plain/{kind}", line)
        offset = line.index(secret[:6]) + 3                     # the cut falls inside the secret
        out += incident(f"cut/{kind}", line, pad=MAX_LINE - 120 - offset + i % 5)
        color = incident(f"ansi/{kind}", line)
        out += b"".join(b"\x1b[1;31m" + x + b"\x1b[0m\n" for x in color.splitlines())
        out += incident(f"cr/{kind}", line).replace(b"\n", b"\r") + b"\n"
        out += b"step 1 loss 0.1\n" * 50
    for i, (kind, line, secret) in enumerate(cases):          # across a read chunk: long lines are cut there
        boundary = CHUNK * (i + 1)
        head = incident(f"chunk/{kind}", line, pad=0).split(b"Access to model")[0] + b"Access to model "
        msg = f"chunk/{kind} is restricted and you are not in the authorized list. ".encode()
        secret_at = len(head) + len(msg) + 2 * 35_000 + line.encode().index(secret[:6].encode())
        fill = boundary - len(out) - secret_at - 1 - (i % 4)
        assert fill > 0
        out += b"#" * (fill % 13) + b"progress 10%\n" * (fill // 13)
        out += head + msg + b"x " * 35_000 + line.encode() + b" Visit https://huggingface.co/x to ask for access.\n"
    log = tmp_path / "secrets.log"
    log.write_bytes(bytes(out))
    return log, secrets


def assert_no_leak(blob: bytes, secrets: list[tuple[str, str]], what: str) -> None:
    text = blob.decode("utf-8", "replace")
    for kind, secret in secrets:
        assert not leaks(secret, text), f"{what}: the {kind} secret shows: {leaks(secret, text)[:3]}"


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory):
    return secrets_log(tmp_path_factory.mktemp("secrets"))


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "markdown"])
def test_no_format_shows_a_secret_from_a_file(secret_file, fmt):
    log, secrets = secret_file
    code, out, err, _, _ = run_measured(["--format", fmt, str(log)])
    assert code == 1, err.decode()
    assert_no_leak(out + err, secrets, f"--format {fmt}")
    assert out.count(b"***") >= len(secrets), "the masked secrets are in the evidence shown"
    if fmt == "json":
        repos = {f["evidence"].get("repo_id") for f in json.loads(out)["findings"]}
        assert len(repos) >= 4 * len(secrets), "each placement is reported (so its line is shown)"


def test_no_secret_from_stdin_pipe(secret_file):
    log, secrets = secret_file
    for fmt in ("jsonl",):
        code, out, err, _, _ = run_measured(["--format", fmt, "-"], stdin=log)
        assert code == 1
        assert_no_leak(out + err, secrets, f"stdin --format {fmt}")


def _stop_when(proc: subprocess.Popen, done, limit: float = 60) -> None:
    """SIGINT (the user's Ctrl-C) once ``done()`` holds, or after ``limit`` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < limit and not done():
        time.sleep(0.1)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


def _collect(stream, buf: bytearray) -> threading.Thread:
    def run() -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            buf.extend(chunk)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("fmt", ["text", "jsonl", "json"])
def test_no_secret_from_watch(secret_file, tmp_path, fmt):
    log, secrets = secret_file
    followed = tmp_path / "job.log"
    followed.write_bytes(b"")
    proc = subprocess.Popen([*hfx_command(), "--watch", "--format", fmt, str(followed)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    out, err = bytearray(), bytearray()
    threads = [_collect(proc.stdout, out), _collect(proc.stderr, err)]
    deadline = time.monotonic() + 30
    while b"Ctrl-C" not in err and time.monotonic() < deadline:
        time.sleep(0.05)
    data = log.read_bytes()
    with open(followed, "ab") as fh:           # written while followed, in uneven pieces
        rnd = random.Random(3)
        i = 0
        while i < len(data):
            n = rnd.randrange(1, 300_000)
            fh.write(data[i:i + n])
            fh.flush()
            i += n
    expected = 4 * len(secrets)             # findings reported as they are written: wait for them
    if fmt == "text":
        _stop_when(proc, lambda: out.count(b"error: ") >= expected)
    elif fmt == "jsonl":
        _stop_when(proc, lambda: out.count(b"\n") >= expected)
    else:                                   # json: the document is written at Ctrl-C
        _stop_when(proc, lambda: False, limit=2.5)
    for t in threads:
        t.join(timeout=10)
    assert proc.returncode == 1, err.decode(errors="replace")
    if fmt != "json":
        assert out.count(b"***") >= len(secrets)
    assert_no_leak(bytes(out + err), secrets, f"--watch --format {fmt}")


@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_no_secret_in_what_run_adds(secret_file, fmt):
    """``run`` passes the job's own output through untouched (stdout here); what hfexplain writes
    (stderr) holds none of it."""
    log, secrets = secret_file
    job = f"import sys; sys.stdout.buffer.write(open({str(log)!r}, 'rb').read())"
    proc = run_hfx("run", "--format", fmt, "--", sys.executable, "-c", job, timeout=120)
    assert proc.stdout == log.read_bytes(), "the job's output passes through byte for byte"
    assert proc.stderr.count(b"***") >= len(secrets), proc.stderr[-500:]
    assert_no_leak(proc.stderr, secrets, f"run --format {fmt}")


def test_no_secret_in_probe_output(secret_file, tmp_path):
    """--probe: the environment's token and the log's tokens show nowhere and reach no server."""
    from localhub import LocalHub

    log, secrets = secret_file
    env_token = "hf_" + letters(random.Random(9), 34)
    home = tmp_path / "home"
    (home / "hf").mkdir(parents=True)
    with LocalHub() as hub:
        hub.add_token(env_token, "alice")
        hub.add_repo("plain/hf", gated="manual", files={"config.json": b"{}"})
        env = {"HOME": str(home), "HF_HOME": str(home / "hf"), "HF_ENDPOINT": hub.url, "HF_TOKEN": env_token,
               "XDG_CACHE_HOME": str(home / "c"), "NETRC": "", "HF_HUB_OFFLINE": "", "HF_HUB_DISABLE_IMPLICIT_TOKEN": ""}
        for fmt in ("text",):          # text also prints the probe plan (repo ids, token fingerprint)
            code, out, err, _, _ = run_measured(["--probe", "--format", fmt, str(log)], env=env, timeout=300)
            assert code == 1, err.decode()
            assert_no_leak(out + err, [*secrets, ("environment", env_token)], f"--probe --format {fmt}")
        sent = json.dumps(hub.requests)
    assert_no_leak(sent.encode(), secrets, "requests the probe sent")


# -- 4. ReDoS --------------------------------------------------------------------------------------
def rule_patterns() -> list[tuple[str, str, str]]:
    return [(r.id, "match.regex", r.match["regex"]) for r in RULES if "regex" in r.match] + \
           [(r.id, f"extract.{k}", p) for r in RULES for k, p in r.extract.items()]


def test_every_builtin_rule_pattern_is_linted_and_times_out():
    for rule in RULES:
        assert lint_patterns(rule) == [], rule.id
    for rid, where, pattern in rule_patterns():
        for text in near_misses(pattern):
            t = time.perf_counter()
            rules_mod._search(pattern, text, rid)
            assert time.perf_counter() - t < rules_mod.REGEX_TIMEOUT + 1.0, (rid, where)
    assert not rules_mod.TIMED_OUT, rules_mod.TIMED_OUT


def near_misses(pattern: str) -> list[str]:
    import re

    pieces = [x for x in re.split(r"\\.|[\[\]().*+?{}|^$]", pattern) if len(x) >= 2] or ["a"]
    return [" ".join(pieces) * 2000, (pieces[0][:-1] + " ") * 5000, "a" * 20_000 + "!", (" ".join(pieces) + "\x00") * 500]


def literal_near_miss_log(size: int) -> bytes:
    """Lines that almost hold each literal of each rule (last character changed), each in an
    exception message so every rule's clauses run on it."""
    lits = sorted({lit for r in RULES for lit in r.literals if len(lit) > 2})
    lines, n = [], 0
    i = 0
    while n < size:
        lit = lits[i % len(lits)]
        line = f"ValueError: {lit[:-1]}{'#' if lit[-1] != '#' else '$'} {lit[: len(lit) // 2]}\n".encode()
        lines.append(line)
        n += len(line)
        i += 1
    return b"".join(lines)


def test_rule_literals_on_near_misses_scan_in_linear_time():
    small, large = literal_near_miss_log(256 * 1024), literal_near_miss_log(1024 * 1024)
    # 1 MB of near-misses, ~16 000 events each checked against every rule
    t_small = best_time(lambda: Engine(RULES).scan_text(small), runs=1)
    t_large = best_time(lambda: Engine(RULES).scan_text(large), runs=1)
    assert t_large / t_small < 8, f"1 MB of near-misses took {t_large / t_small:.1f}× 256 KB"
    assert t_large < 60


# Line families built to make backtracking patterns explode: most are exception lines, so each is
# an event whose fields (hub.py) and rules are computed too. ``n`` is the length of the repeated part.
FAMILIES = {
    "authorization-spaces": lambda n: "ValueError: Authorization:" + " " * n + "'",
    "jwt-run": lambda n: "ValueError: " + "eyJ" * (n // 3),
    "jwt-dots": lambda n: "ValueError: " + "eyJ." * (n // 4),
    "bearer-spaces": lambda n: "ValueError: bearer" + " " * n + "!",
    "cookie-spaces": lambda n: "ValueError: cookie:" + " " * n + "'",
    "assignment": lambda n: "ValueError: token='" + "-" * n,
    "userinfo": lambda n: "ValueError: http://" + "a" * (n // 2) + ":" + "b" * (n // 2),
    "netrc": lambda n: "ValueError: " + "machine " * (n // 8),
    "query": lambda n: "ValueError: " + "?token=" * (n // 7),
    "httpx": lambda n: "HTTP Request: GET https://" + "a" * n,
    "dotted-name": lambda n: "ValueError: " + "a." * (n // 2),
    "exception-name": lambda n: "a" * 80 + ("." + "a" * 80) * (n // 81) + "Error",
    "frame": lambda n: '  File "' + "x" * n,
    "repo-id-message": lambda n: "ValueError: Repo id must " + "x" * n,
    "hub-urls": lambda n: "ValueError: " + "https://huggingface.co/" * (n // 23),
    "request-id": lambda n: "ValueError: " + "(Request ID: " * (n // 13),
    "status": lambda n: "ValueError: " + "401 Client Erro" * (n // 15),
    "prefix-digits": lambda n: "1-" * (n // 2) + "Traceback (most recent call last):",
    "ansi-unterminated": lambda n: "ValueError: " + "\x1b[" + "0" * n + "\x1b]" + "a" * n,
    "urllib3": lambda n: 'https://a:1 "GET ' + "/" * n + ' HTTP/1.1" 401',
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_adversarial_lines_cost_linear_in_their_length(family):
    """The same 128 KB as 64 lines of 2 KB or 8 lines of 15 KB: a pattern that backtracks
    quadratically in the line length makes the long lines ~8× slower; linear ones cost the same."""
    make = FAMILIES[family]

    def doc(n: int) -> bytes:
        line = (make(n) + "\n").encode()
        return line * max(1, (128 * 1024) // len(line))

    short, long_ = doc(2_000), doc(15_000)
    t_short = best_time(lambda: Engine(RULES).scan_text(short))
    t_long = best_time(lambda: Engine(RULES).scan_text(long_))
    assert t_long < max(4 * t_short, 0.5), f"{family}: 16 KB lines {t_long:.2f}s vs 2 KB lines {t_short:.2f}s"


def test_an_event_quoting_many_repos_costs_linear_time():
    """One traceback whose message quotes thousands of distinct repo URLs (repo ids were collected
    with a list-membership test: quadratic in their number)."""
    def doc(lines: int) -> bytes:
        out, k = [b"Traceback (most recent call last):\n", b"huggingface_hub.errors.GatedRepoError: 403 Client Error.\n"], 0
        for _ in range(lines):
            urls = []
            for _ in range(450):
                urls.append(b"https://huggingface.co/o%d/m%d" % (k, k))
                k += 1
            out.append(b" ".join(urls) + b"\n")
        return b"".join(out)

    small, large = doc(8), doc(32)
    t_small = best_time(lambda: Engine(RULES).scan_text(small))
    t_large = best_time(lambda: Engine(RULES).scan_text(large))
    assert t_large / t_small < 8, f"4× the repo URLs in one event took {t_large / t_small:.1f}× the time"


def test_redos_lines_through_the_cli_scale_linearly(tmp_path):
    small, large = tmp_path / "s.log", tmp_path / "l.log"
    H.write(small, H.redos_lines(512 * 1024))
    H.write(large, H.redos_lines(2 * H.MB))
    _, _, _, _, t_small = run_measured(["--format", "json", str(small)])
    code, _, err, _, t_large = run_measured(["--format", "json", str(large)])
    assert code == 1 and b"Traceback" not in err
    assert t_large / t_small < 8 and t_large < 90, (t_small, t_large)


CATASTROPHIC = """\
id: acme-evil-regex
cause: rate-limited
title: ACME quota
match:
  event: [message]
  text: ["ACME quota"]
  regex: '(a|aa)+$'
confidence: 0.9
fix:
  summary: "Wait."
examples:
  match: ["ACME quota aaaa"]
  no_match: ["nothing"]
"""


def test_catastrophic_user_regex_times_out_and_is_named(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "acme-evil-regex.yaml").write_text(CATASTROPHIC)
    log = ("ACME quota " + "a" * 40 + "!\n\n").encode() * 20
    t = time.perf_counter()
    proc = run_hfx("--rules", str(tmp_path / "r"), stdin=log, timeout=60)
    elapsed = time.perf_counter() - t
    assert proc.returncode == 0, proc.stderr.decode()
    err = proc.stderr.decode()
    assert "warning: rule acme-evil-regex" in err and "no answer within" in err, err
    assert elapsed < 20, f"20 events × a catastrophic regex took {elapsed:.1f} s (no circuit breaker?)"
    out = run_hfx("rules", "test", str(tmp_path / "r")).stdout.decode()
    assert "acme-evil-regex" in out and "catastrophic backtracking" in out


def test_run_and_watch_name_a_timed_out_rule_too(tmp_path):
    """The warning is not only for a log read whole: a job under `run` and a followed file get it."""
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "acme-evil-regex.yaml").write_text(CATASTROPHIC)
    line = "ACME quota " + "a" * 40 + "!"
    job = [sys.executable, "-c", f"for _ in range(5): print({line!r}); print()"]
    proc = run_hfx("run", "--rules", str(tmp_path / "r"), "--", *job, timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 0 and "warning: rule acme-evil-regex" in err, err
    assert "binary" not in err

    log = tmp_path / "job.log"
    log.write_text(f"{line}\n\n" * 5)
    watch = subprocess.Popen([*hfx_command(), "--watch", "--from-start", "--rules", str(tmp_path / "r"), str(log)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    try:
        time.sleep(3)                       # reads the file, the regex times out on its events
        watch.send_signal(signal.SIGINT)
        _, err_b = watch.communicate(timeout=60)
    finally:
        watch.kill()
    assert "warning: rule acme-evil-regex" in err_b.decode(), err_b.decode()


# -- 5. rules are data -----------------------------------------------------------------------------
BASE_RULE = """\
id: acme-data
cause: rate-limited
title: {title}
match:
  message: ["ACME mirror quota exhausted"]
confidence: 0.9
fix:
  summary: {summary}
  steps: {steps}
  commands: {commands}
  links: {links}
examples:
  match: ["acme.QuotaError: ACME mirror quota exhausted"]
  no_match: ["acme.QuotaError: other"]
"""
QUOTA_LOG = b"acme.QuotaError: ACME mirror quota exhausted for https://huggingface.co/acme/m\n"


def write_rule(folder: Path, text: str, name: str = "acme-data.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
    "!!python/name:os.system",
    "!!python/module:os",
])
def test_python_yaml_tags_are_refused(tmp_path, tag):
    marker = tmp_path / "pwned"
    text = BASE_RULE.format(title=tag.format(marker=marker), summary='"x"', steps="[]", commands="[]", links="[]")
    rules = write_rule(tmp_path / "r", text)
    commands = [["--rules", str(rules)]]
    if "apply" in tag:                  # every command that loads rules, once
        commands += [["rules", "validate", str(rules)], ["rules", "test", str(rules)],
                     ["rules", "list", "--rules", str(rules)]]
    for args in commands:
        proc = run_hfx(*args, stdin=QUOTA_LOG)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        err = proc.stderr.decode()
        assert "acme-data.yaml" in err and "YAML" in err and "Traceback" not in err, (args, err)
    assert not marker.exists(), "a YAML tag ran code"


@pytest.mark.parametrize("body,why", [
    ("x-defs:\n  a: &a ['x','x','x','x','x','x','x','x','x']\n" +
     "".join(f"  {c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) +
     "sources: *i\n", "aliases"),
    ("sources: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper"),
])
def test_yaml_bombs_are_refused_quickly(tmp_path, body, why):
    text = BASE_RULE.format(title="t", summary='"x"', steps="[]", commands="[]", links="[]") + body
    rules = write_rule(tmp_path / "r", text)
    code, _, err, rss, wall = run_measured(["--rules", str(rules), "-"], timeout=60)
    assert code == 2 and why in err.decode() and "acme-data.yaml" in err.decode()
    assert wall < 20 and rss < PEAK_MB


def test_fix_templates_are_inert(tmp_path):
    text = BASE_RULE.format(
        title='"Quota {repo_id.__class__} {0.__class__} {repo_id!r} {__class__}"',
        summary='"{repo_id.__init__.__globals__} {url.__class__.__mro__} {{repo_id}} {repo_id:>999999999}"',
        steps='["{__import__}", "{repo_id[0]}", "{repo_url}"]',
        commands='["echo {url.__len__} {status.real}"]',
        links='["{repo_url}", "file:///etc/passwd"]')
    rules = write_rule(tmp_path / "r", text)
    proc = run_hfx("--rules", str(rules), "--format", "json", stdin=QUOTA_LOG)
    assert proc.returncode == 1, proc.stderr.decode()
    f = json.loads(proc.stdout)["findings"][0]
    assert "{repo_id.__class__}" in f["title"] and "{0.__class__}" in f["title"] and "{repo_id!r}" in f["title"]
    blob = json.dumps(f)
    for bad in ("<class", "__builtins__", "function", "root:", "mro"):
        assert bad not in blob.replace("__mro__", ""), bad
    assert len(proc.stdout) < 20_000, "a format width is not interpreted"
    assert f["fix"]["links"][0] == "https://huggingface.co/acme/m"


def test_unknown_rule_fields_are_refused(tmp_path):
    text = BASE_RULE.format(title="t", summary='"x"', steps="[]", commands="[]", links="[]")
    for extra in ("include: /etc/passwd\n", "exec: \"__import__('os').system('id')\"\n", "probe_url: http://x\n"):
        rules = write_rule(tmp_path / extra[:4], text + extra)
        proc = run_hfx("--rules", str(rules), stdin=QUOTA_LOG)
        assert proc.returncode == 2 and b"acme-data.yaml" in proc.stderr, proc.stderr


AUDIT = r"""
import json, os, sys
seen = []
def hook(event, args):
    if event == "open":
        seen.append(("open", str(args[0])))
    elif event in ("socket.connect", "socket.getaddrinfo", "subprocess.Popen", "os.system", "os.exec"):
        seen.append((event, str(args[:2])))
sys.addaudithook(hook)
from analyzer.cli import main
rc = main(sys.argv[1:])
sys.stdout.flush()
os.write(2, ("\nAUDIT " + json.dumps(seen) + "\n").encode())
sys.exit(rc)
"""


def test_a_rule_cannot_make_hfexplain_read_files_or_contact_hosts(tmp_path):
    """Audit hooks over a real run with a rule that names files and URLs everywhere it can."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    trap = f"http://127.0.0.1:{listener.getsockname()[1]}/trap"
    text = BASE_RULE.format(title=f'"see {trap} and file:///etc/passwd"', summary=f'"curl {trap}"',
                            steps='["cat /etc/passwd", "{repo_url}"]', commands=f'["curl {trap}"]',
                            links=f'["{trap}", "file:///etc/passwd", "/etc/shadow"]')
    text = text.replace('examples:\n  match: ["acme.QuotaError: ACME mirror quota exhausted"]',
                        f'examples:\n  match: ["acme.QuotaError: ACME mirror quota exhausted {trap}"]')
    rules = write_rule(tmp_path / "r", text)
    log = tmp_path / "q.log"
    log.write_bytes(QUOTA_LOG.replace(b"https://huggingface.co/acme/m", trap.encode()) + b"see /etc/passwd\n")
    env = {**os.environ, "HFEXPLAIN_NO_CACHE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "NO_COLOR": "1"}
    for args in (["--rules", str(rules), "--format", "json", str(log)], ["rules", "test", str(rules)],
                 ["rules", "show", "acme-data", "--rules", str(rules)]):
        proc = subprocess.run([sys.executable, "-c", AUDIT, *args], capture_output=True, env=env, timeout=60)
        err = proc.stderr.decode()
        events = json.loads(err.rsplit("AUDIT ", 1)[1])
        assert not [e for e in events if e[0] != "open"], events
        opened = {p for _, p in events}
        allowed = (str(rules), str(log), sys.prefix, sys.base_prefix, str(Path(rules_mod.__file__).parent.parent))
        strange = [p for p in opened if not p.startswith(allowed) and not p.isdigit() and p != "/dev/null"]
        assert not strange, f"{args[0]}: opened {strange}"
        assert b"root:" not in proc.stdout
    listener.settimeout(0.2)
    with pytest.raises(OSError):                # nothing ever connected to the trap
        listener.accept()
    listener.close()
