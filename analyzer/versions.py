"""Which library versions a log's message shapes imply (reference: hf-errors.md §0, §1, §8).

The fix must fit the user's versions: ``huggingface-cli login`` on an old 0.x, ``hf auth login``
from 0.34 on; ``~/.netrc`` matters only to the requests-based 0.x line.
"""

from __future__ import annotations

# (marker text, huggingface_hub range it implies). The first marker found in each group wins.
_HFH_MARKERS: list[tuple[str, str]] = [
    ("httpx2", ">=2.0"),
    ("RemoteEntryNotFoundError", ">=1.0"),
    ("developer.mozilla.org/en-US/docs/Web/HTTP/Status/", ">=1.0"),
    ("httpx.HTTPStatusError", ">=1.0,<2.0"),
    ("HTTP Request: ", ">=1.0"),
    ("huggingface_hub.utils._errors.", "<0.25"),
    ("huggingface_hub/utils/_errors.py", "<0.25"),
    ("If you didn't pass a user token, make sure you are properly logged in", "<0.29"),
    ("requests.exceptions.", "<1.0"),
    ("$ huggingface-cli whoami", "<1.0"),       # the command itself is gone from 1.0 on
    ("$ huggingface-cli login", "<1.0"),
    ("urllib3.connectionpool", "<1.0"),
    (" Client Error: ", "<1.0"),
    ("for url: https://", "<1.0"),
    ("huggingface_hub.errors.", ">=0.25"),
]


class Implied:
    """Versions a log implies; ``None`` where it says nothing."""

    __slots__ = ("huggingface_hub",)

    def __init__(self, huggingface_hub: str | None = None) -> None:
        self.huggingface_hub = huggingface_hub

    @property
    def hfh_major(self) -> int | None:
        spec = self.huggingface_hub or ""
        if spec.startswith(">=2"):
            return 2
        if spec.startswith(">=1"):
            return 1
        if spec.startswith("<") or spec.startswith(">=0"):
            return 0
        return None

    @property
    def requests_based(self) -> bool | None:
        """True when the job used the requests stack (which reads ``~/.netrc``)."""
        major = self.hfh_major
        return None if major is None else major == 0

    @property
    def login_command(self) -> str:
        spec = self.huggingface_hub or ""
        if spec in ("<0.25", "<0.29"):
            return "huggingface-cli login"
        return "hf auth login"


def implied(text: str) -> Implied:
    for marker, spec in _HFH_MARKERS:
        if marker in text:
            return Implied(huggingface_hub=spec)
    return Implied()
