"""The prefilter cannot hide a rule, whatever engine runs it; parallel scans equal sequential ones."""

from __future__ import annotations

import json
import random

import pytest
from conftest import run_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.engine import Engine
from analyzer.prefilter import _ENGINES
from analyzer.rules import load_rules, match
from analyzer.triggers import SMALL_INPUT

RULES = load_rules(examples=True)


def noise(n_bytes: int, seed: int) -> str:
    rnd = random.Random(seed)
    lines, size = [], 0
    while size < n_bytes:
        line = (f"2026-11-23 08:00:00,000 - INFO - step {rnd.randrange(10**6)} loss={rnd.random():.4f}\n"
                if rnd.random() < 0.8 else
                "DEBUG:urllib3.connectionpool:https://huggingface.co:443 \"HEAD /org/m/resolve/main/c.json HTTP/1.1\" 200 0\n")
        lines.append(line)
        size += len(line)
    return "".join(lines)


def available_engines() -> list[str]:
    names = []
    for name, cls in _ENGINES.items():
        try:
            cls(["x"])
        except Exception:
            continue
        names.append(name)
    return names


@pytest.mark.parametrize("engine_name", available_engines())
def test_every_rule_example_survives_the_prefilter(engine_name, monkeypatch):
    """Each rule's own examples, buried in a big log, still reach the rule (triggers come from rules)."""
    monkeypatch.setenv("HFEXPLAIN_PREFILTER", engine_name)
    engine = Engine(RULES)
    pad = noise(SMALL_INPUT * 2, 1)          # big enough that the prefilter is used
    checked = 0
    for rule in RULES:
        for example in rule.examples.get("match", []):
            events = engine.events_of(pad + example.rstrip("\n") + "\nINFO: next\n" + pad)
            assert any(match(rule, ev) for ev in events), (engine_name, rule.id, example[:80])
            checked += 1
    assert checked >= len(RULES)          # every rule has match examples (see test_rules)
    assert engine.trigger_bytes.name == engine_name


def _big_log_with_incidents(tmp_path):
    incidents = []
    parts = []
    for i in range(12):
        parts.append(noise(150_000, i))
        repo = f"bench/model-{i}"
        incidents.append(repo)
        parts.append(
            "Traceback (most recent call last):\n"
            f"  File \"/app/train.py\", line {i + 3}, in <module>\n"
            "huggingface_hub.errors.GatedRepoError: 403 Client Error. (Request ID: Root=1-670f1a2b-3c4d5e6f708192a3b4c5d6e7)\n"
            "\n"
            f"Cannot access gated repo for url https://huggingface.co/{repo}/resolve/main/config.json.\n"
            f"Access to model {repo} is restricted and you are not in the authorized list. "
            f"Visit https://huggingface.co/{repo} to ask for access.\n")
    log = tmp_path / "big.log"
    log.write_text("".join(parts))
    return log, incidents


def test_parallel_scan_equals_sequential(tmp_path):
    log, incidents = _big_log_with_incidents(tmp_path)

    def summary(env: dict[str, str]) -> list[tuple]:
        code, doc = run_json(str(log), env=env)
        assert code == 1
        return sorted((f["cause"], f["evidence"]["repo_id"], tuple(f["evidence"]["lines"]), f["count"])
                      for f in doc["findings"])

    seq = summary({"HFEXPLAIN_NO_PARALLEL": "1"})
    par = summary({"HFEXPLAIN_PARALLEL_MIN_BYTES": "1000"})
    assert seq == par
    assert {r for _, r, _, _ in seq} == set(incidents)


def test_a_worker_that_dies_costs_time_not_findings(tmp_path, monkeypatch):
    """A forked child killed mid-scan (the OOM killer, a signal): the parent scans its region itself."""
    import os
    import signal

    from analyzer import parallel

    log, incidents = _big_log_with_incidents(tmp_path)
    parent, real = os.getpid(), parallel._scan_region

    def dies_in_children(*args):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)

    monkeypatch.setattr(parallel, "_scan_region", dies_in_children)
    engine = Engine(RULES)
    parallel.scan_file(engine, str(log), "big.log", log.stat().st_size, 4)
    assert {f.evidence["repo_id"] for f in engine.findings()} == set(incidents)


def test_a_thousand_small_files(tmp_path):
    files = []
    for i in range(1000):
        p = tmp_path / f"rank{i}.log"
        p.write_text(noise(1500, i))
        files.append(str(p))
    gated = tmp_path / "rank-bad.log"
    gated.write_text("OSError: You are trying to access a gated repo.\nMake sure to have access to it at "
                     "https://huggingface.co/acme/gated.\n403 Client Error. (Request ID: Root=1-6a0b1c2d-0123456789abcdef01234567)"
                     "\n\nCannot access gated repo for url https://huggingface.co/acme/gated/resolve/main/config.json.\n"
                     "Access to model acme/gated is restricted and you are not in the authorized list. Visit "
                     "https://huggingface.co/acme/gated to ask for access.\n")
    code, doc = run_json(*files, str(gated))
    assert code == 1 and len(doc["inputs"]) == 1001
    assert [f["cause"] for f in doc["findings"]] == ["gated-not-accepted"]
    assert json.dumps(doc).count("rank-bad.log") >= 1


# -- every engine against a plain oracle --------------------------------------------------------
ORACLE_LITERALS = sorted({*(lit for r in RULES for lit in r.literals), "Error no file named", "Error",
                          "rror: x", "HTTP/1.1 4", "HTTP/1.1\" 4", "aaaa", "aab"})


def _occurrences(buf: bytes, pos: int, end: int) -> list[tuple[int, int]]:
    spans = []
    for lit in {x.encode() for x in ORACLE_LITERALS}:
        at = buf.find(lit, pos, end)
        while at >= 0:
            spans.append((at, at + len(lit)))
            at = buf.find(lit, at + 1, end)
    return spans


_fragments = st.sampled_from(ORACLE_LITERALS).flatmap(
    lambda lit: st.sampled_from([lit, lit[:-1], lit[1:], lit[: len(lit) // 2], lit[len(lit) // 2:]]))
_text = st.lists(st.one_of(_fragments, st.sampled_from(["\n", " ", "a", "(", "E", "rror", "HTTP/1.1 ", "x" * 40])),
                 max_size=40).map("".join)


@pytest.mark.parametrize("engine_name", available_engines())
@settings(deadline=None, max_examples=300, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=_text, cut=st.tuples(st.integers(0, 50), st.integers(0, 50)))
def test_engines_agree_with_an_oracle(engine_name, text, cut):
    """None exactly when no literal lies in [pos, end); else a byte inside one, on the first line that has one."""
    buf = bytearray(text.encode())
    pos, end = min(cut[0], len(buf)), max(0, len(buf) - cut[1])
    engine = _ENGINES[engine_name](ORACLE_LITERALS)
    got = engine.search(buf, pos, end) if pos <= end else None
    spans = _occurrences(bytes(buf), pos, end) if pos <= end else []
    if not spans:
        assert got is None
        return
    assert got is not None
    assert any(s <= got < e for s, e in spans), (got, spans)
    first = min(s for s, _ in spans)
    assert buf.count(b"\n", 0, got) == buf.count(b"\n", 0, first)


def test_re_fallback_a_longer_piece_does_not_hide_a_shorter_one():
    engine = _ENGINES["re"](["ab(cdefgh", "zz(cdef"])
    common = b"aabbzzccddeeffgghh " * 3                # "(" is the rarest byte: both pieces start there
    buf = bytearray(common + b"zz(cdefgh")             # the longer piece matches, its literal is absent
    assert engine.search(buf, 0, len(buf)) == len(common)
    assert engine.search(bytearray(common + b"z (cdefgh"), 0, len(buf)) is None


@settings(deadline=None, max_examples=300, derandomize=True, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(_text, min_size=1, max_size=30))
def test_message_literals_on_str_lines_agree_with_in(lines):
    """The engine's per-line test (warmed up on the first lines, then a PieceSearch over str)."""
    from analyzer.engine import LiteralSet

    literals = ORACLE_LITERALS
    found = LiteralSet(literals)
    found.WARM_UP = 5
    for line in lines * 2:
        assert found.search(line) == any(lit in line for lit in literals), line


def test_re_fallback_a_false_candidate_does_not_hide_the_literal_around_it():
    """"Could not downlo" (another literal's piece) matches first; the literal found by its later piece
    "bration from" still starts before that false candidate's next position, and counts."""
    engine = _ENGINES["re"](["Could not download '", "Could not download Calibration from"])
    filler = b"Could not do some work at all " * 40      # "b" is the rarest byte of the second literal
    buf = bytearray(filler + b"Could not download Calibration from\n")
    assert engine.search(buf, 0, len(buf)) == len(filler)


def test_ctrl_c_during_a_parallel_scan_leaves_no_worker_behind(tmp_path, monkeypatch):
    import os
    import time

    from analyzer import parallel

    log, _ = _big_log_with_incidents(tmp_path)
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    def interrupted(*args):
        if os.getpid() == parent:                        # Ctrl-C while the parent scans its own region
            raise KeyboardInterrupt
        time.sleep(30)                                   # the children are still busy
        return real_scan(*args)

    parent, real_scan = os.getpid(), parallel._scan_region
    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(parallel, "_scan_region", interrupted)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        parallel.scan_file(Engine(RULES), str(log), "big.log", log.stat().st_size, 3)
    assert time.monotonic() - started < 10, "the parent waited for its children instead of stopping them"
    assert len(forked) == 2
    for pid in forked:                                   # killed and reaped: nothing left to wait for
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, 0)
