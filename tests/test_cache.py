"""The cache of rule-derived data: keyed by content, safe when corrupt, bounded in size."""

from __future__ import annotations

import marshal
import shutil
import time

import pytest
from conftest import FIXTURES, run_hfx

from analyzer import cache
from analyzer.rules import RuleSet, _load_dir, builtin_dir

GATED = FIXTURES / "seeds" / "guide-gated-llama3-not-accepted-403.log"


def _cache_env(tmp_path):
    return {"XDG_CACHE_HOME": str(tmp_path / "xdg")}


def _entries(tmp_path):
    folder = tmp_path / "xdg" / "hfexplain"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_runs_fill_the_cache_and_use_it(tmp_path):
    env = _cache_env(tmp_path)
    first = run_hfx("--format", "json", str(GATED), env=env)
    names = _entries(tmp_path)
    assert {n.split("-")[0] for n in names} >= {"rules", "triggers"}, names
    second = run_hfx("--format", "json", str(GATED), env=env)
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout
    assert _entries(tmp_path) == names           # nothing rebuilt: the same entries serve


def test_corrupt_entries_are_rebuilt_not_believed(tmp_path):
    env = _cache_env(tmp_path)
    expected = run_hfx("--format", "json", str(GATED), env={"HFEXPLAIN_NO_CACHE": "1"}).stdout
    run_hfx("--format", "json", str(GATED), env=env)
    folder = tmp_path / "xdg" / "hfexplain"
    garbage = [
        b"",                                            # truncated to nothing
        b"\xff\x00garbage",                             # not marshal at all
        marshal.dumps(12345),                           # marshal, wrong type
        marshal.dumps([("rules/x.yaml", {"id": 1})]),   # the right shape, wrong content
        marshal.dumps(["Traceback"]),                   # well formed, plausible, and wrong
    ]
    for bad in garbage:
        for entry in folder.iterdir():
            if entry.suffix in (".marshal", ".db"):
                entry.write_bytes(bad)
        proc = run_hfx("--format", "json", str(GATED), env=env)
        assert b"Traceback (most recent call last)" not in proc.stderr, proc.stderr.decode()
        assert proc.returncode == 1 and proc.stdout == expected, bad


def test_an_edited_rule_is_never_served_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    rules = tmp_path / "rules"
    shutil.copytree(builtin_dir(), rules)
    before = {r.id: r.title for r in _load_dir(str(rules), None)}       # fills the cache
    target = sorted(rules.rglob("gated-*.yaml"))[0]
    text = target.read_text()
    rid = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("id:"))
    target.write_text(text.replace("\ntitle: ", "\ntitle: EDITED ", 1))
    after = {r.id: r.title for r in _load_dir(str(rules), None)}
    assert after[rid] == "EDITED " + before[rid]


def test_the_folder_stays_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    for i in range(3 * cache.KEEP):
        cache.write(f"triggers-{i:08x}.marshal", marshal.dumps([str(i)]))
        cache.write(f"hyperscan-0-{i:08x}-1.db", b"db")
        time.sleep(0.01)                      # distinct mtimes
    names = _entries(tmp_path)
    kept = [n for n in names if n.startswith("triggers-")]
    assert len(kept) == cache.KEEP and f"triggers-{3 * cache.KEEP - 1:08x}.marshal" in kept
    assert len([n for n in names if n.startswith("hyperscan-")]) == cache.KEEP
    assert not [n for n in names if n.endswith(".tmp")]


def test_no_cache_writes_nothing(tmp_path):
    env = {**_cache_env(tmp_path), "HFEXPLAIN_NO_CACHE": "1"}
    proc = run_hfx("--format", "json", str(GATED), env=env)
    assert proc.returncode == 1
    assert _entries(tmp_path) == []


def test_literals_from_the_cache_equal_the_rules_literals(tmp_path, monkeypatch):
    from analyzer.triggers import all_literals

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    built = RuleSet().literals                      # computed from the rules, then stored
    served = RuleSet().literals                     # read back without building a rule
    assert built == served == all_literals(RuleSet().rules)


def test_the_prefilter_database_is_found_again_whatever_the_hash_seed(tmp_path):
    """Its key comes from the trigger literals in a fixed order (a set's order changes per process)."""
    pytest.importorskip("hyperscan")
    big = tmp_path / "big.log"
    big.write_bytes(b"2026-11-23 08:00:00,000 - INFO - step 1 loss=0.5\n" * 4000 + GATED.read_bytes())
    for seed in ("1", "2", "3"):
        env = {**_cache_env(tmp_path), "PYTHONHASHSEED": seed}
        assert run_hfx("--format", "json", str(big), env=env).returncode == 1
    assert len([n for n in _entries(tmp_path) if n.startswith("hyperscan-")]) == 1, _entries(tmp_path)
