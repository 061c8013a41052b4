"""JSON and JSON-lines output (design §6 CONTRACT)."""

from __future__ import annotations

import json

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from typing import Any

    from ..findings import Finding


SCHEMA_VERSION = "1"


def document(inputs: list[str], findings: list[Finding]) -> dict[str, Any]:
    return {"hfexplain": SCHEMA_VERSION, "inputs": inputs, "findings": [f.to_dict() for f in findings]}


def dumps(inputs: list[str], findings: list[Finding]) -> str:
    return json.dumps(document(inputs, findings), indent=2, ensure_ascii=False) + "\n"


def line(finding: Finding) -> str:
    """One finding as one JSON line, for ``--format jsonl`` streams."""
    return json.dumps(finding.to_dict(), ensure_ascii=False) + "\n"
