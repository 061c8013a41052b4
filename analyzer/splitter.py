"""The event splitter: clean lines in, :class:`~analyzer.events.Event` objects out.

One state machine serves every input mode. It recognises
- Python tracebacks with their chains (``The above exception…`` / ``During handling…``),
  ExceptionGroups, tracebacks whose header was not pasted, and per-line prefixes such as
  ``[rank0]: ``, ``app-1  | `` or a timestamp (several ranks may interleave);
- HTTP exchanges: urllib3 DEBUG, httpx/httpx2 INFO, ``curl -v`` and http.client dumps, with
  huggingface_hub's ``Request …: GET … (authenticated: …)`` debug lines joined to them;
- git / git-lfs output;
- printed messages that rules name by a literal (pyannote's "Could not download …").
An event is emitted as soon as a line shows it is complete.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from .events import MAX_EXCEPTIONS, MAX_FRAMES, MAX_ROWS, Event, Exc, derive_fields
from .hub import repo_ids_in as hub_repo_ids
from .hub import split_url
from .lazyre import compile_lazily
from .triggers import TB_HEADER

TYPE_CHECKING = False  # `typing` is not imported at run time: it costs more than scanning a paste
if TYPE_CHECKING:

    from .engine import LiteralSet

Emit = "Callable[[Event], None]"

_CHAIN = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
_EXC_NAME = r"(?:[A-Za-z_]\w{0,80}\.){0,8}[A-Za-z_]\w{0,80}"
_EXC_LINE = re.compile(rf"^(?P<type>{_EXC_NAME})(?::(?P<msg>.*))?$")
_HEADERLESS = re.compile(
    r"^(?P<prefix>(?:\[[\w .:-]{1,40}\]:? ?|[\w.-]{1,60} +\| )?)"
    rf"(?P<type>{_EXC_NAME}(?:Error|Exception|Group|Interrupt|Timeout|Enabled))(?::(?P<msg> .*))?$"
)
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]{1,1000})", line (?P<line>\w{1,10})(?:, in (?P<func>.{1,200}))?')
_NEW_RECORD = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[ T]\d|\[\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d[ ,.]|[IWEF]\d{4} \d\d:"
    r"|(?:INFO|WARNING|WARN|ERROR|DEBUG|CRITICAL|FATAL)(?::|\s+-|\s)|\[(?:INFO|WARNING|WARN|ERROR|DEBUG)\]"
    r"|\s*\d{1,3}%\||\$ |\+ [\w./~-]|>>> |(?:remote|fatal|hint): |Starting new HTTPS? connection"
    r"|HTTP Request: |Request [0-9a-f-]{8,}: |https?://\S+:\d+ \"[A-Z]+ )"
)
_RAISE = compile_lazily(
    rf"^\s*raise (?P<type>{_EXC_NAME})\((?:[rbfu]{{0,2}}(?P<q>['\"])(?P<msg>[^'\"]{{0,2000}})(?P=q))?"
)
_TS_DIGITS = compile_lazily(r"(?<![A-Za-z])\d+")

# HTTP lines (reference: hf-errors.md §8).
_URLLIB3 = compile_lazily(
    r'(?P<scheme>https?)://(?P<host>[\w.-]{1,253}):(?P<port>\d{1,5}) "(?P<method>[A-Z]{3,7}) '
    r'(?P<path>\S{1,4000}) HTTP/[\d.]{1,3}" (?P<status>\d{3})\b'
)
_HTTPX = compile_lazily(
    r'HTTP Request: (?P<method>[A-Z]{3,7}) (?P<url>https?://\S{1,4000}) "HTTP/[\d.]{1,3} (?P<status>\d{3})'
    r'(?: (?P<reason>[^"]{0,80}))?"'
)
_HFH_REQUEST = compile_lazily(
    r"Request [0-9a-f-]{8,40}: (?P<method>[A-Z]{3,7}) (?P<url>https?://\S{1,4000}) "
    r"\(authenticated: (?P<auth>True|False)\)"
)
_HTTPCORE = compile_lazily(
    r"receive_response_headers\.complete return_value=\(b'HTTP/[\d.]{1,3}', (?P<status>\d{3}), "
    r"b'(?P<reason>[^']{0,80})', \[(?P<headers>.{0,8000}?)\]\)"
)
_HTTPCORE_HEADER = compile_lazily(r"\(b'(?P<name>[\w-]{1,60})', b'(?P<value>[^']{0,2000})'\)")
_CURL = compile_lazily(r"^[<>*{}] ?")
_CURL_REQ = compile_lazily(r"^> (?P<method>[A-Z]{3,7}) (?P<path>\S{1,4000}) HTTP/")
_CURL_STATUS = compile_lazily(r"^< HTTP/[\d.]{1,3} (?P<status>\d{3})(?: (?P<reason>.{0,80}))?")
_CURL_HOST = compile_lazily(r"^> (?P<name>Host): ?(?P<value>\S{1,260})", re.IGNORECASE)
_HEADER = compile_lazily(r"^(?:< |header: )(?P<name>[\w-]{1,60}): ?(?P<value>.{0,2000})$", re.IGNORECASE)
_PYCLIENT_SEND = compile_lazily(
    r"^send: b'(?P<method>[A-Z]{3,7}) (?P<path>\S{1,4000}) HTTP/[\d.]{1,3}\\r\\nHost: (?P<host>[\w.:-]{1,260})"
)
_PYCLIENT_REPLY = compile_lazily(r"^reply: '(?:HTTP/[\d.]{1,3}) (?P<status>\d{3})(?: (?P<reason>[^\\']{0,80}))?")
_GIT = compile_lazily(
    r"^(?:remote: |fatal: |error: |hint: |batch response: |\s*! \[|To https?://|Cloning into |Username for |"
    r"Password for |Failed to fetch some objects|Uploading LFS objects|Downloading |warning: )"
)
_GIT_CMD = compile_lazily(
    r"\bgit(?:\s+-[Cc]\s+\S{1,300})*\s+(?:clone|push|pull|fetch|ls-remote|remote\s+add\s+\S{1,100}|lfs\s+\w{1,10})"
    r"\b[^\n]{0,300}?(?P<url>https?://\S{1,500})"
)
_GIT_START = compile_lazily(
    r"^(?:remote: |fatal: (?:Authentication failed|unable to access|could not read)|batch response: "
    r"|error: failed to push|Failed to fetch some objects|\s*! \[remote rejected\])"
)


class _Traceback:
    """Accumulates one traceback (all its chained exceptions) under one line prefix."""

    def __init__(self, prefix: str, group: bool = False) -> None:
        self.prefix = prefix
        self.prefix_re = _prefix_pattern(prefix)
        self.group = group
        self.state = "frames"           # frames | message | chain
        self.rows: list[tuple[int, str]] = []
        self.dropped = 0
        self.exceptions: list[Exc] = []
        self.frames: list[str] = []
        self.message: list[str] = []
        self.blank_run = 0
        self.foreign = 0                # lines since the last one of ours (interleaved ranks)
        self.after_frame = False        # the line after a frame line is its source code

    def feed(self, lineno: int, line: str) -> bool:
        """Take a prefix-stripped line; False means it is not ours and the traceback is over."""
        self.foreign = 0
        if self.group:
            line = _ungroup(line)
            if line is None:
                return False
            if line == "":          # a member boundary: like a chain separator
                self._finish_exception()
                self.state = "chain"
                return True
        stripped = line.strip()
        if self.state == "chain":
            if stripped == "" or stripped.startswith(TB_HEADER) or "Exception Group Traceback" in stripped:
                if stripped:
                    self.state = "frames"
                self._row(lineno, line, keep=bool(stripped))
                return True
            if _EXC_LINE.match(stripped) and self.group:
                return self._start_exception(lineno, stripped)
            return False
        if self.state == "frames":
            if not stripped:
                return True
            m = _FRAME.match(line)
            if m:
                self._frame(f"{m.group('file')}:{m.group('line')} in {m.group('func') or '?'}")
                self._row(lineno, line, keep=False)
                self.after_frame = True
                return True
            code = self.after_frame and not _HEADERLESS.match(stripped)   # pasted without indentation
            self.after_frame = False
            if code or line[:1] in (" ", "\t") or stripped.startswith("[Previous line repeated"):
                self._row(lineno, line, keep=False)
                return True
            if stripped.startswith(TB_HEADER):
                self._row(lineno, line, keep=True)
                return True
            return self._start_exception(lineno, stripped)
        # state == "message"
        if stripped in _CHAIN:
            self._finish_exception()
            self.state = "chain"
            self._row(lineno, line, keep=True)
            return True
        if TB_HEADER in stripped or _NEW_RECORD.match(line) or _FRAME.match(line):
            return False
        if not self.group and _HEADERLESS.match(line) and self.message:
            return False        # another exception printed on its own: a new event
        if not stripped:
            self.blank_run += 1
            if self.blank_run > 2:
                return False
            self.message.append("")
            return True
        if len(self.message) >= 40:
            return False
        self.blank_run = 0
        self.message.append(stripped if self.group else line.rstrip())
        self._row(lineno, line, keep=True)
        return True

    def _start_exception(self, lineno: int, stripped: str) -> bool:
        m = _EXC_LINE.match(stripped)
        if m is None and not self.exceptions and not self.frames:
            return False
        etype = m.group("type") if m else "<unparsed>"
        first = (m.group("msg") or "").strip() if m else stripped
        self.exceptions.append(Exc(etype, "", lineno, self.frames))
        if len(self.exceptions) > MAX_EXCEPTIONS:     # keep the root cause and the latest ones
            del self.exceptions[MAX_EXCEPTIONS // 2]
        self.frames = []
        self.message = [first] if first else []
        self.blank_run = 0
        self.state = "message"
        self._row(lineno, stripped, keep=True)
        return True

    def _finish_exception(self) -> None:
        if self.exceptions and not self.exceptions[-1].message:
            while self.message and not self.message[-1]:
                self.message.pop()
            self.exceptions[-1].message = "\n".join(self.message)
        self.message = []

    def _frame(self, frame: str) -> None:
        self.frames.append(frame)
        if len(self.frames) > MAX_FRAMES:
            del self.frames[MAX_FRAMES // 4]

    def _row(self, lineno: int, text: str, keep: bool) -> None:
        if len(self.rows) < MAX_ROWS or keep:
            self.rows.append((lineno, text.rstrip()))
            if len(self.rows) > 4 * MAX_ROWS:   # even essential rows are bounded
                del self.rows[MAX_ROWS : 2 * MAX_ROWS]
                self.dropped += MAX_ROWS
        else:
            self.dropped += 1

    def event(self) -> Event | None:
        self._finish_exception()
        if not self.exceptions:
            inferred = self._raised_in_last_frame()
            if inferred is None:
                return None
            self.exceptions.append(inferred)
        return Event("traceback", self.rows, self.exceptions, prefix=self.prefix, dropped_rows=self.dropped)

    def _raised_in_last_frame(self) -> Exc | None:
        """A paste cut before the exception line: the last frame's ``raise X("…")`` is the best guess."""
        if not self.rows:
            return None
        lineno, last = self.rows[-1]
        m = _RAISE.match(last)
        if m is None:
            return None
        return Exc(m.group("type"), m.group("msg") or "", lineno, self.frames)


def _prefix_pattern(prefix: str) -> re.Pattern[str] | None:
    """A pattern for the per-line prefix: timestamps vary line to line, rank numbers do not."""
    if not prefix:
        return None
    parts, last = [], 0
    for m in _TS_DIGITS.finditer(prefix):
        parts.append(re.escape(prefix[last:m.start()]))
        parts.append(r"\d+")
        last = m.end()
    parts.append(re.escape(prefix[last:]))
    return re.compile("".join(parts))


def _ungroup(line: str) -> str | None:
    """Strip ExceptionGroup box drawing; '' marks a member boundary, None the group's end."""
    s = line.lstrip()
    if s.startswith("+-") or re.match(r"^\+-*\s*(?:\d+\s*-+|-+)$", s):
        return ""
    if s.startswith("+ Exception Group Traceback"):
        return s[2:]
    if s.startswith("|"):
        return s[2:] if s.startswith("| ") else s[1:]
    if s == "":
        return " "
    return None


class _Block:
    """A run of lines that belong together: a curl/http.client exchange, git output or a message."""

    def __init__(self, kind: str, style: str, limit: int) -> None:
        self.kind, self.style, self.limit = kind, style, limit
        self.rows: list[tuple[int, str]] = []

    def feed(self, lineno: int, line: str) -> bool:
        if len(self.rows) >= self.limit:
            return False
        if self.style == "curl":
            ok = bool(_CURL.match(line))
        elif self.style == "pyclient":
            ok = line.startswith(("send: ", "reply: ", "header: "))
        elif self.style == "git":
            ok = bool(_GIT.match(line))
        else:  # message: up to a blank line or a new record
            ok = bool(line.strip()) and not _NEW_RECORD.match(line) and not line.startswith(TB_HEADER)
        if ok:
            self.rows.append((lineno, line.rstrip()))
        return ok


class Splitter:
    """Routes each clean line to the event it belongs to and emits events when complete."""

    def __init__(self, emit: Emit, message_trigger: LiteralSet | None = None, input_name: str = "-") -> None:
        self.emit = emit
        self.message_trigger = message_trigger
        self.input = input_name
        self.tracebacks: dict[str, _Traceback] = {}
        self.block: _Block | None = None
        self.requests: OrderedDict[str, bool] = OrderedDict()   # path -> authenticated
        self.last_url: str | None = None                         # of the last debug-logged request
        self.last_git_url: str | None = None                     # of the last git command seen

    @property
    def idle(self) -> bool:
        return not self.tracebacks and self.block is None

    def feed(self, lineno: int, line: str) -> None:
        if self.tracebacks and self._route_traceback(lineno, line):
            return
        if self.block is not None:
            if self.block.feed(lineno, line):
                return
            self._close_block()
        self._classify(lineno, line)

    def close(self) -> None:
        for key in list(self.tracebacks):
            self._close_traceback(key)
        self._close_block()

    # -- routing ------------------------------------------------------------------------
    def _route_traceback(self, lineno: int, line: str) -> bool:
        for key, tb in sorted(self.tracebacks.items(), key=lambda kv: -len(kv[0])):
            if tb.prefix_re is not None:
                m = tb.prefix_re.match(line)
                if m is None:
                    tb.foreign += 1
                    if tb.foreign > 200:
                        self._close_traceback(key)
                    continue
                body = line[m.end():]
            else:
                body = line
            if body.lstrip().startswith(TB_HEADER) and tb.state != "chain":
                self._close_traceback(key)      # a new traceback under the same prefix
                return False
            if tb.feed(lineno, body):
                return True
            self._close_traceback(key)
            return False
        return False

    def _classify(self, lineno: int, line: str) -> None:
        idx = line.find(TB_HEADER)
        if idx >= 0:
            prefix = line[:idx]
            group = "Exception Group" in prefix
            if group or "╭" in prefix or not prefix.strip():
                prefix = ""
            tb = _Traceback(prefix, group=group)
            tb._row(lineno, line[idx:] if not group else line.strip(), keep=True)
            self._open_traceback(tb)
            return
        m = _HEADERLESS.match(line)
        if m is not None:
            tb = _Traceback(m.group("prefix"))
            tb.frames = []
            if tb._start_exception(lineno, line[m.end("prefix"):].strip()):
                self._open_traceback(tb)
                return
        if self._http_line(lineno, line):
            return
        if _GIT_START.match(line):
            self.block = _Block("git", "git", 200)
            self.block.feed(lineno, line)
            return
        m = _GIT_CMD.search(line)
        if m:                          # git's own errors often omit the repo: remember the command's URL
            self.last_git_url = m.group("url").strip("'\"")
            return
        if self.message_trigger is not None and self.message_trigger.search(line):  # a LiteralSet
            self.block = _Block("message", "message", 16)
            self.block.rows.append((lineno, line.rstrip()))

    def _open_traceback(self, tb: _Traceback) -> None:
        key = tb.prefix_re.pattern if tb.prefix_re is not None else ""
        if key in self.tracebacks:
            self._close_traceback(key)
        self.tracebacks[key] = tb

    def _http_line(self, lineno: int, line: str) -> bool:
        m = _HFH_REQUEST.search(line)
        if m:
            self.last_url = m.group("url")
            path = split_url(self.last_url).path
            self.requests[path] = m.group("auth") == "True"
            if len(self.requests) > 256:
                self.requests.popitem(last=False)
            return True
        m = _URLLIB3.search(line)
        if m:
            port = m.group("port")
            default = {"https": "443", "http": "80"}[m.group("scheme")]
            host = m.group("host") + ("" if port == default else f":{port}")
            url = f"{m.group('scheme')}://{host}{m.group('path')}"
            self._emit_http(lineno, line, m.group("method"), url, int(m.group("status")), None, m.group("path"))
            return True
        m = _HTTPX.search(line)
        if m:
            url = m.group("url")
            self._emit_http(lineno, line, m.group("method"), url, int(m.group("status")), m.group("reason"),
                            split_url(url).path)
            return True
        m = _HTTPCORE.search(line)
        if m:                      # httpx's transport at DEBUG: the response with all its headers
            if int(m.group("status")) >= 400:
                ev = Event("http", [(lineno, line.rstrip())], fields={"status": int(m.group("status")),
                                                                       "reason": m.group("reason") or None})
                for h in _HTTPCORE_HEADER.finditer(m.group("headers")):
                    _headers_into(ev, h.group("name"), h.group("value"))
                ev.fields.pop("_host", None)
                if self.last_url:
                    ev.fields["url"] = self.last_url
                self._finish(ev)
            return True
        if _CURL_REQ.match(line) or line.startswith(("* Connected to", "* Trying", "< HTTP/", "> Host:")):
            self.block = _Block("http", "curl", 400)
            self.block.feed(lineno, line)
            return True
        if _PYCLIENT_SEND.match(line) or _PYCLIENT_REPLY.match(line):
            self.block = _Block("http", "pyclient", 200)
            self.block.feed(lineno, line)
            return True
        return False

    def _emit_http(self, lineno: int, line: str, method: str, url: str, status: int, reason: str | None,
                   path: str) -> None:
        fields = {"method": method, "url": url, "status": status, "reason": reason}
        if path in self.requests:
            fields["authenticated"] = self.requests[path]
        ev = Event("http", [(lineno, line.rstrip())], fields=fields)
        self._finish(ev)

    # -- closing ------------------------------------------------------------------------
    def _close_traceback(self, key: str) -> None:
        tb = self.tracebacks.pop(key, None)
        if tb is None:
            return
        ev = tb.event()
        if ev is not None:
            self._finish(ev)

    def _close_block(self) -> None:
        block, self.block = self.block, None
        if block is None or not block.rows:
            return
        ev = Event(block.kind, block.rows)
        if self.last_git_url and (block.kind == "git" or "git" in ev.text) and not hub_repo_ids(ev.text):
            ev.fields["url"] = self.last_git_url
        if block.style in ("curl", "pyclient"):
            _exchange_fields(ev, block.style)
        if block.kind == "http" and ev.fields.get("status") is None:
            return
        path = ev.fields.pop("_path", None)
        if path is not None and path in self.requests:
            ev.fields["authenticated"] = self.requests[path]
        self._finish(ev)

    def _finish(self, ev: Event) -> None:
        ev.input = self.input
        derive_fields(ev)
        if "authenticated" not in ev.fields and ev.fields.get("url") and self.requests:
            # huggingface_hub's debug line for this request said whether a token was sent.
            path = split_url(ev.fields["url"]).path
            if path in self.requests:
                ev.fields["authenticated"] = self.requests[path]
        self.emit(ev)


def _headers_into(ev: Event, name: str, value: str) -> None:
    key = name.lower()
    if key == "x-error-code":
        ev.fields["x_error_code"] = value.strip()
    elif key == "x-error-message":
        ev.fields["x_error_message"] = value.strip()
    elif key in ("x-request-id", "x-amzn-trace-id") and "request_id" not in ev.fields:
        ev.fields["request_id"] = value.strip()
    elif key == "host":
        ev.fields["_host"] = value.strip()
    elif key == "www-authenticate":
        ev.fields["www_authenticate"] = value.strip()


def _exchange_fields(ev: Event, style: str) -> None:
    """Method, URL, status and Hub headers of a ``curl -v`` or http.client dump."""
    request_re, status_re = (_CURL_REQ, _CURL_STATUS) if style == "curl" else (_PYCLIENT_SEND, _PYCLIENT_REPLY)
    path = None
    for _, line in ev.rows:
        m = request_re.match(line)
        if m:
            ev.fields["method"], path = m.group("method"), m.group("path")
            if m.groupdict().get("host"):
                ev.fields["_host"] = m.group("host")
            continue
        m = status_re.match(line)
        if m:
            ev.fields["status"] = int(m.group("status"))
            ev.fields["reason"] = (m.group("reason") or "").strip() or None
            continue
        m = _HEADER.match(line) or _CURL_HOST.match(line)
        if m:
            _headers_into(ev, m.group("name"), m.group("value"))
    _set_url(ev, path)


def _set_url(ev: Event, path: str | None) -> None:
    host = ev.fields.pop("_host", None)
    if path and path.startswith("http"):
        ev.fields["url"] = path
    elif path and host:
        ev.fields["url"] = f"https://{host.removesuffix(':443')}{path}"
        ev.fields["_path"] = path
