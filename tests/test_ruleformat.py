"""The rule format as a product: schema, validate, test, export, extra rule directories and packs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import yaml
from conftest import ROOT, run_hfx, run_json

CUSTOM = """\
id: acme-mirror-quota
cause: rate-limited
title: The ACME mirror's quota is exhausted
description: Our internal mirror answers "quota exhausted" when a team used its daily downloads.
match:
  event: [traceback, message]
  message: ["ACME mirror quota exhausted"]
confidence: 0.97
fix:
  summary: "Wait until midnight UTC or ask #ml-infra for more quota."
examples:
  match: ["acme_hub.errors.QuotaError: ACME mirror quota exhausted for team vision"]
  no_match: ["acme_hub.errors.QuotaError: ACME mirror unavailable"]
"""
LOG = b"acme_hub.errors.QuotaError: ACME mirror quota exhausted for team vision\n"


def write_rule(folder: Path, text: str, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(text)
    path = folder / f"{name or data['id']}.yaml"
    path.write_text(text)
    return path


def test_schema_is_valid_and_rules_conform():
    proc = run_hfx("rules", "schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == json.loads((ROOT / "rules" / "schema.json").read_text())
    export = json.loads(run_hfx("rules", "export", "--format", "json").stdout)
    validator = jsonschema.Draft202012Validator(schema)
    assert len(export["rules"]) >= 40
    for rule in export["rules"]:
        errors = list(validator.iter_errors(rule))
        assert not errors, (rule["id"], errors[0].message)
    causes = {c["id"] for c in yaml.safe_load((ROOT / "rules/causes.yaml").read_text())["causes"]}
    assert {c["id"] for c in export["causes"]} == causes
    assert {r["cause"] for r in export["rules"]} <= causes


def test_extra_rules_by_flag_and_env(tmp_path):
    write_rule(tmp_path / "mine", CUSTOM)
    assert run_json(stdin=LOG)[1]["findings"] == []
    code, doc = run_json("--rules", str(tmp_path / "mine"), stdin=LOG)
    assert code == 1 and doc["findings"][0]["rule"] == "acme-mirror-quota"
    code, doc = run_json(stdin=LOG, env={"HFEXPLAIN_RULES_PATH": str(tmp_path / "mine")})
    assert code == 1 and doc["findings"][0]["cause"] == "rate-limited"


def test_user_rule_overrides_builtin_by_id(tmp_path):
    builtin = (ROOT / "rules/gated/gated-403-pending.yaml").read_text()
    changed = builtin.replace("title: Gated repo {repo_id} — your access request awaits review",
                              "title: Still waiting for {repo_id}")
    write_rule(tmp_path / "over", changed)
    log = (b"huggingface_hub.errors.GatedRepoError: 403 Client Error.\n\n"
           b"Your request to access model meta-llama/Llama-3.1-8B is awaiting a review from the repo authors.\n")
    _code, doc = run_json("--rules", str(tmp_path / "over"), stdin=log)
    assert doc["findings"][0]["title"] == "Still waiting for meta-llama/Llama-3.1-8B"


def test_broken_user_rule_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad"
    write_rule(bad, CUSTOM.replace("confidence: 0.97", "confidence: high"), name="acme-mirror-quota")
    proc = run_hfx("--rules", str(bad), stdin=LOG)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "acme-mirror-quota.yaml" in err and "confidence" in err and "Traceback" not in err
    (bad / "broken.yaml").write_text("id: [unclosed\n")
    proc = run_hfx("rules", "validate", str(bad))
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "broken.yaml" in err and "field 'confidence'" in err and "Traceback" not in err


def test_validate_names_file_rule_and_field(tmp_path):
    write_rule(tmp_path, CUSTOM.replace("  message: [", "  mesage: ["))
    proc = run_hfx("rules", "validate", str(tmp_path))
    assert proc.returncode == 2
    assert b"acme-mirror-quota" in proc.stderr and b"mesage" in proc.stderr
    assert run_hfx("rules", "validate", str(ROOT / "rules")).returncode == 0


def test_rules_test_reports_expected_vs_got(tmp_path):
    write_rule(tmp_path, CUSTOM.replace('no_match: ["acme_hub.errors.QuotaError: ACME mirror unavailable"]',
                                        'no_match: ["acme_hub.errors.QuotaError: ACME mirror quota exhausted"]'))
    proc = run_hfx("rules", "test", str(tmp_path))
    assert proc.returncode == 1
    assert b"FAIL acme-mirror-quota" in proc.stdout and b"expected no match" in proc.stdout
    write_rule(tmp_path, CUSTOM)
    assert run_hfx("rules", "test", str(tmp_path)).returncode == 0


def test_rules_test_shows_where_a_regex_stopped(tmp_path):
    rule = CUSTOM.replace('  message: ["ACME mirror quota exhausted"]', "  regex: 'ACME mirror quota (?:used|spent)'")
    write_rule(tmp_path, rule)
    out = run_hfx("rules", "test", str(tmp_path)).stdout.decode()
    assert "matched up to here" in out and "^" in out
    proc = run_hfx("rules", "validate", str(tmp_path))      # a rule failing its own example is invalid
    assert proc.returncode == 2 and b"matched up to here" in proc.stderr


def test_rules_test_rejects_quadratic_and_catastrophic_patterns(tmp_path):
    quad = CUSTOM.replace('  message: ["ACME mirror quota exhausted"]', "  regex: 'ACME.* exhausted'")
    write_rule(tmp_path / "q", quad)
    out = run_hfx("rules", "test", str(tmp_path / "q")).stdout.decode()
    assert "unbounded .*" in out
    evil = CUSTOM.replace('  message: ["ACME mirror quota exhausted"]', "  regex: '(a|aa)+$'") \
        .replace("match: [\"acme", "match: [\"aaaa acme")
    write_rule(tmp_path / "e", evil)
    out = run_hfx("rules", "test", str(tmp_path / "e")).stdout.decode()
    assert "catastrophic backtracking" in out


def test_rule_pack_entry_point(tmp_path):
    """A pip-installed pack: a module folder of rules announced in entry_points.txt."""
    site = tmp_path / "site"
    pack = site / "acme_rules"
    write_rule(pack, CUSTOM)
    (pack / "__init__.py").write_text("")
    dist = site / "acme_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hfexplain.rules]\nacme = acme_rules\n")
    code, doc = run_json(stdin=LOG, env={"PYTHONPATH": str(site)})
    assert code == 1 and doc["findings"][0]["rule"] == "acme-mirror-quota"
    listing = run_hfx("rules", "list", env={"PYTHONPATH": str(site)}).stdout
    assert b"acme-mirror-quota" in listing


def test_python_api():
    from analyzer import Finding, analyze, load_rules

    rules = load_rules()
    text = textwrap.dedent("""\
        huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-66f4b037-1bf3d7d219afbc904ee05694)

        Cannot access gated repo for url https://huggingface.co/meta-llama/Llama-3.1-8B/resolve/main/config.json.
        Access to model meta-llama/Llama-3.1-8B is restricted. You must have access to it and be authenticated to access it. Please log in.
        """)
    (f,) = analyze(text, rules)
    assert isinstance(f, Finding) and f.cause == "token-missing"
    assert f.to_dict()["evidence"]["repo_id"] == "meta-llama/Llama-3.1-8B"

    class OnlyRead:                       # a caller's stream with read() and nothing else
        def __init__(self, data: bytes) -> None:
            self.data = data

        def read(self, n: int) -> bytes:
            chunk, self.data = self.data[:n], self.data[n:]
            return chunk

    (g,) = analyze(OnlyRead(text.encode()), rules)          # type: ignore[arg-type]
    assert g.to_dict() == f.to_dict()


def test_sigma_export_is_valid_sigma():
    """Every rule exports as a Sigma rule that pySigma parses and its validators accept."""
    from sigma.collection import SigmaCollection
    from sigma.validators.core import validators

    proc = run_hfx("rules", "export", "--format", "sigma")
    assert proc.returncode == 0
    collection = SigmaCollection.from_yaml(proc.stdout.decode())
    rules = list(collection.rules)
    assert len(rules) == len(json.loads(run_hfx("rules", "export").stdout)["rules"])
    assert len({str(r.id) for r in rules}) == len(rules)
    structural = ["all_of_them_condition", "control_character", "dangling_condition", "dangling_detection",
                  "double_wildcard", "duplicate_references", "duplicate_tag", "duplicate_title", "escaped_wildcard",
                  "identifier_existence", "identifier_uniqueness", "invalid_modifier_combinations",
                  "number_as_string", "tag_format", "them_condition_with_single_detection",
                  "wildcards_instead_of_modifiers"]     # the tag-namespace ones fetch data from the internet
    problems = []
    for name in structural:
        cls = validators.get(name)
        if cls is None:
            continue
        for rule in rules:
            try:
                validator = cls()           # one per rule: some pySigma releases keep state across rules
            except TypeError:
                break
            for issue in validator.validate(rule):
                if getattr(issue.severity, "name", "") in ("HIGH", "MEDIUM"):
                    problems.append(f"{rule.title}: {name}: {issue}")
    assert not problems, problems[:5]
