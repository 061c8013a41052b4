"""Every rule's own examples pass through the real engine; the catalogue is covered."""

from __future__ import annotations

import pytest

from analyzer.engine import Engine
from analyzer.rules import load_causes, load_rules
from analyzer.ruletest import check_rule, duplicate_ids

RULES = load_rules(validate=True)
ENGINE = Engine(RULES)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples(rule):
    report = check_rule(rule, ENGINE)
    assert report.ok, "\n".join(report.problems)


def test_rule_ids_unique():
    assert duplicate_ids(RULES) == []


def test_every_cause_has_a_rule():
    causes = set(load_causes())
    ruled = {r.cause for r in RULES}
    assert causes - ruled == set(), f"causes without a rule: {sorted(causes - ruled)}"


def test_rule_causes_exist():
    causes = set(load_causes())
    for r in RULES:
        assert r.cause in causes, r.id
        for alt in r.alternatives:
            assert alt["cause"] in causes, (r.id, alt)


def test_rule_file_named_after_id():
    for r in RULES:
        assert r.path.endswith(f"/{r.id}.yaml"), (r.id, r.path)
