"""Secret redaction, applied to every line at ingestion.

Nothing downstream (rules, evidence, any output format) ever sees a token: the reader calls
:func:`redact` on each logical line before the splitter gets it.
"""

from __future__ import annotations

import re

MASK = "***"

# Each pattern keeps a harmless prefix (group 1) and masks the secret that follows it.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Hugging Face user/OAuth tokens and organization API tokens (gitleaks: hf_[A-Za-z]{34}).
    (re.compile(r"(hf_(?:oauth_)?|api_org_|api_)[A-Za-z0-9]{16,}"), r"\1" + MASK),
    # Authorization / Proxy-Authorization header values, whatever the scheme.
    (
        re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)?\s*)"
                   r"(?!<TOKEN>|\*\*\*)[^\s'\",}]+"),
        r"\1" + MASK,
    ),
    # A bare Bearer credential anywhere (curl -H, logged headers dicts).
    (re.compile(r"(?i)(\bbearer\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    # Cookies carry session tokens.
    (re.compile(r"(?i)((?:set-)?cookie['\"]?\s*[:=]\s*['\"]?)[^\r\n'\"]+"), r"\1" + MASK),
    # Secrets in URL query strings (signed CDN URLs included).
    (
        re.compile(r"(?i)([?&](?:token|access_token|api_key|apikey|key|password|passwd|secret|sig|signature|"
                   r"x-amz-signature|x-amz-credential|x-amz-security-token|policy|key-pair-id)=)[^&\s'\"#]+"),
        r"\1" + MASK,
    ),
    # user:password@ in URLs (git remotes written with a token).
    (re.compile(r"(https?://[^/\s:@'\"]+:)[^@\s/'\"]+(@)"), r"\1" + MASK + r"\2"),
    # token='…' / password="…" / HF_TOKEN=… assignments with a literal value.
    (
        re.compile(r"(?i)(\b(?:[a-z_]*token|password|passwd|secret|api_key)\s*[=:]\s*)(['\"])"
                   r"(?=[^'\"\s]*[A-Za-z0-9]{8})[^'\"\s]+(['\"])"),
        r"\1\2" + MASK + r"\3",
    ),
    (
        re.compile(r"(?i)(\b(?:HF_TOKEN|HUGGING_FACE_HUB_TOKEN|HF_API_TOKEN|HUGGINGFACEHUB_API_TOKEN)=)"
                   r"(?!['\"]|\*\*\*|\$)[^\s'\"]+"),
        r"\1" + MASK,
    ),
    # netrc lines: machine huggingface.co login x password SECRET
    (re.compile(r"(?i)(\b(?:machine|login)\s[^\n]{0,200}?\bpassword\s+)(?!\*\*\*)\S+"), r"\1" + MASK),
    # JSON Web Tokens (OAuth access tokens, OIDC).
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), MASK),
]

# A quick literal pre-check keeps the common line (no secret-looking text) nearly free.
_HINTS = re.compile(r"(?i)hf_|api_|auth|bearer|cookie|token|passw|secret|key|sig|policy|eyj|@")

# A token cut in two by a forced line wrap: mask its visible head at the end of a piece.
_TAIL = re.compile(r"(hf_|api_org_|api_)[A-Za-z0-9]*$")


def redact(line: str) -> str:
    """Return ``line`` with every credential replaced by ``***``."""
    if not _HINTS.search(line):
        return line
    for pattern, repl in _PATTERNS:
        line = pattern.sub(repl, line)
    return line


def redact_cut(line: str) -> str:
    """Redact a piece of a line that was cut at an arbitrary point (a token may be split)."""
    return _TAIL.sub(r"\1" + MASK, redact(line))
