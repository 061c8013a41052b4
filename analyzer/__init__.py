"""hfexplain: explain Hugging Face Hub access failures from a log.

Python API (stable)::

    from analyzer import analyze, load_rules, Finding
    findings = analyze(open("error.log", "rb"))      # or analyze(text)
    for f in findings:
        print(f.cause, f.confidence, f.evidence["repo_id"], f.fix["summary"])

Imports are lazy so that ``import analyzer`` costs nothing on the command line's fast path.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Finding", "analyze", "load_rules"]

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:
    from .engine import analyze
    from .findings import Finding
    from .rules import load_rules


def __getattr__(name: str) -> object:
    if name == "analyze":
        from .engine import analyze

        return analyze
    if name == "load_rules":
        from .rules import load_rules

        return load_rules
    if name == "Finding":
        from .findings import Finding

        return Finding
    raise AttributeError(name)
