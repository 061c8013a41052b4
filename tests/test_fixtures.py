"""Every fixture log (real library output, public-report shapes, seeds, healthy corpus) through
the installed CLI, checked against its manifest entry."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml
from conftest import FIXTURES, run_json


def _entries() -> list[dict]:
    out = []
    for manifest in sorted(FIXTURES.glob("*/manifest.yaml")):
        for entry in yaml.safe_load(manifest.read_text(encoding="utf-8")) or []:
            entry = dict(entry)
            entry["path"] = manifest.parent / entry["file"]
            entry["group"] = manifest.parent.name
            out.append(entry)
    return out


ENTRIES = _entries()


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e['group']}/{e['file']}" for e in ENTRIES])
def test_fixture(entry):
    path = entry["path"]
    assert path.is_file(), f"manifest names a missing file: {path}"
    assert entry.get("source"), "every fixture names where it comes from"
    code, doc = run_json(str(path))
    findings = doc["findings"]
    if entry["expect"] == "none":
        assert code == 0 and findings == [], [f["cause"] + " " + f["rule"] for f in findings]
        return
    assert code == 1 and findings, "no finding"
    top = findings[0]
    assert top["cause"] == entry["expect"], f"got {top['cause']} ({top['rule']})"
    if entry.get("repo_id"):
        assert top["evidence"].get("repo_id") == entry["repo_id"]
    listed = {a["cause"] for a in top.get("alternatives", [])} | {f["cause"] for f in findings}
    for cause in entry.get("also") or []:
        assert cause in listed, f"{cause} not among alternatives {sorted(listed)}"


def test_corpus_shape():
    """Every cause has at least two fixtures; the healthy corpus has at least fifteen logs."""
    causes = Counter(e["expect"] for e in ENTRIES)
    assert causes["none"] >= 15, causes["none"]
    from analyzer.rules import load_causes

    thin = [c for c in load_causes() if causes[c] < 2]
    assert not thin, f"causes with fewer than two fixtures: {thin}"
