"""JSON and JSON-lines output (design §6 CONTRACT)."""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from typing import Any

    from ..findings import Finding


SCHEMA_VERSION = "1"


def document(inputs: list[str], findings: list[Finding]) -> dict[str, Any]:
    return {"hfexplain": SCHEMA_VERSION, "inputs": inputs, "findings": [f.to_dict() for f in findings]}


def dumps(inputs: list[str], findings: list[Finding]) -> str:
    if not findings:
        return _nothing_found(inputs)
    import json

    return json.dumps(document(inputs, findings), indent=2, ensure_ascii=False) + "\n"


def line(finding: Finding) -> str:
    """One finding as one JSON line, for ``--format jsonl`` streams."""
    import json

    return json.dumps(finding.to_dict(), ensure_ascii=False) + "\n"


def _nothing_found(inputs: list[str]) -> str:
    """The same text ``json.dumps(document(inputs, []), indent=2, ensure_ascii=False)`` gives, without
    importing json (which imports re): the answer to a healthy log is most of a run's cost."""
    try:
        from _json import encode_basestring as quote  # CPython's own string encoder, used by json
    except ImportError:
        import json

        return json.dumps(document(inputs, []), indent=2, ensure_ascii=False) + "\n"
    listed = "[\n" + ",\n".join(f"    {quote(name)}" for name in inputs) + "\n  ]" if inputs else "[]"
    return f'{{\n  "hfexplain": {quote(SCHEMA_VERSION)},\n  "inputs": {listed},\n  "findings": []\n}}\n'

