"""Secret redaction, applied to every line at ingestion.

Nothing downstream (rules, evidence, any output format) ever sees a token: the reader calls
:func:`redact` on each logical line before the splitter gets it. A line longer than the
reader's limit reaches us in pieces; :func:`redact_piece` masks a secret that a cut splits
or separates from its ``Authorization:``/``token=``/``Cookie:`` by looking at the piece before.

Every pattern runs in linear time on any line (no two adjacent unbounded quantifiers over the
same characters, no pattern that restarts inside a run it has to scan to the end).
"""

from __future__ import annotations

import re

from .lazyre import compile_lazily

MASK = "***"

# (hints, pattern, replacement, the group holding the secret). A pattern runs only on a line
# whose lowered text holds one of its hints (each match must contain one: most lines with
# "token" are about tokenizers). The replacement keeps the harmless prefix and masks the
# secret; the group number lets a cut line be masked by span.
_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str], str, int]] = [
    # Hugging Face user/OAuth tokens and organization API tokens (gitleaks: hf_[A-Za-z]{34}).
    (("hf_", "api_"), re.compile(r"(hf_(?:oauth_)?|api_org_|api_)([A-Za-z0-9]{16,})"), r"\1" + MASK, 2),
    # Authorization / Proxy-Authorization header values, whatever the scheme. (The whitespace
    # after the scheme belongs to the scheme: two adjacent \s* would backtrack quadratically.)
    (
        ("authorization",),
        re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?(?:(?:bearer|basic|token)\s*)?)"
                   r"(?!<TOKEN>|\*\*\*|(?:bearer|basic|token)\s*\*\*\*)([^\s'\",}]+)"),
        r"\1" + MASK, 2,
    ),
    # A bare Bearer credential anywhere (curl -H, logged headers dicts).
    (("bearer",), re.compile(r"(?i)(\bbearer\s+)(?!\*\*\*)([A-Za-z0-9._~+/=-]{8,})"), r"\1" + MASK, 2),
    # Cookies carry session tokens.
    (("cookie",), re.compile(r"(?i)((?:set-)?cookie['\"]?\s*[:=]\s*['\"]?)([^\r\n'\"]+)"), r"\1" + MASK, 2),
    # Secrets in URL query strings (signed CDN URLs included).
    (
        ("?", "&"),
        re.compile(r"(?i)([?&](?:token|access_token|api_key|apikey|key|password|passwd|secret|sig|signature|"
                   r"x-amz-signature|x-amz-credential|x-amz-security-token|policy|key-pair-id)=)([^&\s'\"#]+)"),
        r"\1" + MASK, 2,
    ),
    # user:password@ in URLs (git remotes written with a token).
    (("@",), re.compile(r"(https?://[^/\s:@'\"]+:)([^@\s/'\"]+)(@)"), r"\1" + MASK + r"\3", 2),
    # token='…' / password="…" / HF_TOKEN=… assignments with a literal value.
    (
        ("token", "passw", "secret", "api_key"),
        re.compile(r"(?i)(\b(?:[a-z_]*token|password|passwd|secret|api_key)['\"]?\s*[=:]\s*)(['\"])"
                   r"(?=[^'\"\s]*[A-Za-z0-9]{8})([^'\"\s]+)(['\"])"),
        r"\1\2" + MASK + r"\4", 3,
    ),
    (
        ("token=",),
        re.compile(r"(?i)(\b(?:HF_TOKEN|HUGGING_FACE_HUB_TOKEN|HF_API_TOKEN|HUGGINGFACEHUB_API_TOKEN)=)"
                   r"(?!['\"]|\*\*\*|\$)([^\s'\"]+)"),
        r"\1" + MASK, 2,
    ),
    # netrc lines: machine huggingface.co login x password SECRET
    (("password",), re.compile(r"(?i)(\b(?:machine|login)\s[^\n]{0,200}?\bpassword\s+)(?!\*\*\*)(\S+)"),
     r"\1" + MASK, 2),
    # JSON Web Tokens (OAuth access tokens, OIDC). Inside a base64url run ("\\neyJ…", "%3DeyJ…")
    # the header is bounded: an unbounded one would rescan the run from every "eyJ" (quadratic).
    # (The literal comes first so the engine can skip to it; the lookbehind then looks past it.)
    (("eyj",), re.compile(r"(eyJ(?:(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8,}|[A-Za-z0-9_-]{8,300})"
                          r"\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+)"), MASK, 1),
]

# A quick pre-check keeps the common line (nothing secret-looking) nearly free: any pattern's hint.
# It runs on the lowered line: with (?i), re gives up its skip-ahead and is ten times slower.
_HINT_WORDS = "|".join(re.escape(h) for h in sorted({h for hints, *_ in _PATTERNS for h in hints}))
_HINTS = re.compile(_HINT_WORDS)
_HINTS_ANY_CASE = re.compile("(?i)" + _HINT_WORDS)
EVERY = ""           # what _lowered returns for a line on which every pattern must run


def _lowered(text: str) -> str | None:
    """``text`` lowered when it may hold a secret, else None.

    On ASCII text, ``lower()`` and the patterns' (?i) agree, so a pattern whose hints are absent
    from the lowered text cannot match. Elsewhere (?i) also matches letters that ``lower()``
    leaves alone (ſ for s, ı for i): every pattern runs (:data:`EVERY`).
    """
    if text.isascii():
        low = text.lower()
        return low if _HINTS.search(low) else None
    return EVERY if _HINTS_ANY_CASE.search(text) else None

# A piece of a line that ends inside what may be a secret (the line was cut there): mask the
# visible head of a token, a Bearer value too short to be recognised yet, a JWT's first parts,
# and values whose pattern needs a closing character the next piece holds (``user:pw@``,
# ``token='…'``). The next piece is masked by :func:`redact_piece`. Every alternative is bounded
# or starts only once per run, so the scan stays linear. Group 1…4 is the part that stays.
_TAIL = compile_lazily(
    r"(hf_|api_org_|api_)[A-Za-z0-9]*$"
    r"|(?i:(\bbearer\s+))[A-Za-z0-9._~+/=-]{1,7}$"
    r"|(https?://[^/\s:@'\"]+:)[^@\s/'\"]*$"
    r"|(?i:(\b(?:[a-z_]*token|password|passwd|secret|api_key)['\"]?\s*[=:]\s*['\"]))[^'\"\s]*$"
    r"|(?<![A-Za-z0-9_.-])eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}$"
)


def redact(line: str) -> str:
    """Return ``line`` with every credential replaced by ``***``."""
    low = _lowered(line)
    if low is None:
        return line
    for hints, pattern, repl, _ in _PATTERNS:
        if low == EVERY or any(h in low for h in hints):  # masking only removes text: a skipped one cannot match
            line = pattern.sub(repl, line)
    return line


def redact_cut(line: str) -> str:
    """Redact a piece of a line that was cut at an arbitrary point (a token may be split).

    Every :data:`_TAIL` alternative ends in non-blank characters at the cut, so it runs only on
    the last non-blank run and the :data:`INTRODUCER` characters before it (``Bearer ``,
    ``token = ``), not on the whole 16 KB piece: a starting point inside the window can only
    mask more, never less.
    """
    line = redact(line)
    if not line or line[-1].isspace():
        return line
    last = line.rsplit(None, 1)[-1]
    start = max(0, len(line) - len(last) - INTRODUCER)
    return line[:start] + _TAIL.sub(_keep_prefix, line[start:])


INTRODUCER = 1024    # characters kept before the last run for a _TAIL introducer (no real one is longer)


def _keep_prefix(m: re.Match[str]) -> str:
    return next((g for g in m.groups() if g is not None), "") + MASK    # "hf_", "Bearer " stay; a JWT goes


CONTEXT = 4096      # characters each side of a cut looked at together (no introducer is farther from its secret)


def redact_piece(piece: str, before: str = "", cut: bool = False) -> str:
    """Redact ``piece``, which continues ``before`` on the same line (a line cut into pieces).

    A secret that begins in ``before`` and goes on in ``piece``, or whose introducer
    (``Authorization: Bearer``, ``?token=``, ``Cookie:``) is in ``before``, is masked where it
    shows in ``piece`` (to the end of the piece when it is still going :data:`CONTEXT` characters
    in). ``cut``: ``piece`` itself ends at a cut, not at the end of the line.
    """
    if before:
        head = before[-CONTEXT:]
        window = head + piece[:CONTEXT]
        start = len(head)
        low = _lowered(window)
        if low is not None:
            spans = []
            for hints, pattern, _, group in _PATTERNS:
                if low != EVERY and not any(h in low for h in hints):
                    continue
                for m in pattern.finditer(window):
                    s, e = m.span(group)
                    if m.start() < start < e:           # what the piece alone cannot recognise
                        if e == len(window) and len(piece) > CONTEXT:
                            e = start + len(piece)
                        spans.append((max(s, start) - start, e - start))
            if spans:
                piece = _mask(piece, spans)
    return redact_cut(piece) if cut else redact(piece)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for s, e in sorted(spans):
        if e <= pos:
            continue
        s = max(s, pos)
        out.append(text[pos:s])
        out.append(MASK)
        pos = e
    out.append(text[pos:])
    return "".join(out)
