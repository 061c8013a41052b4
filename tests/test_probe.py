"""--probe and doctor against a real local Hub (tests/localhub.py) through the real huggingface_hub.

Each seed scenario is replayed with the matching account state and must end `confirmed` for its
true cause and `refuted` for the wrong alternative. A trap server whose URLs sit in the logs
proves that a URL from a log never receives anything; faulty endpoints end `inconclusive`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import FIXTURES, make_token, run_hfx
from localhub import LocalHub

PYANNOTE = ("pyannote/speaker-diarization-3.0", "pyannote/speaker-diarization-3.1", "pyannote/segmentation-3.0")


class Trap:
    """Any HTTP server that records what reaches it (optionally answering with garbage)."""

    def __init__(self, body: bytes = b"<html>nothing here</html>", status: int = 200,
                 location: str | None = None) -> None:
        self.seen: list[dict] = []
        trap = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                trap.seen.append({"path": self.path, "headers": dict(self.headers)})
                self.send_response(status)
                if location:
                    self.send_header("Location", location + self.path)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub():
    h = LocalHub()
    h.add_repo("meta-llama/Meta-Llama-3-8B", gated="manual", files={"config.json": b"{}"})
    config = (b"version: 3.1.0\npipeline:\n  name: pyannote.audio.pipelines.SpeakerDiarization\n  params:\n"
              b"    embedding: pyannote/wespeaker-voxceleb-resnet34-LM\n    segmentation: pyannote/segmentation-3.0\n")
    for repo in PYANNOTE:
        h.add_repo(repo, gated="auto", files={"config.yaml": config})
    h.add_repo("pyannote/wespeaker-voxceleb-resnet34-LM", files={"pytorch_model.bin": b"x"})
    with h:
        yield h


@pytest.fixture
def trap():
    t = Trap()
    yield t
    t.close()


def account(tmp_path: Path, hub_url: str, *, env_token: str | None = None, stored: str | None = None,
            netrc: str | None = None) -> dict[str, str]:
    """A fresh HOME with the token file, ~/.netrc and environment the scenario needs."""
    home = tmp_path / "home"
    (home / "hf").mkdir(parents=True)
    if stored:
        (home / "hf" / "token").write_text(stored)
    if netrc:
        (home / ".netrc").write_text(netrc)
    env = {"HOME": str(home), "HF_HOME": str(home / "hf"), "HF_ENDPOINT": hub_url, "XDG_CACHE_HOME": str(home / "c"),
           "HF_TOKEN": env_token or "", "HUGGING_FACE_HUB_TOKEN": "", "NETRC": "", "HF_HUB_OFFLINE": "",
           "TRANSFORMERS_OFFLINE": "", "HF_HUB_DISABLE_IMPLICIT_TOKEN": ""}
    return env


def probed(log: Path | str, env: dict[str, str], trap: Trap | None = None, *extra: str) -> dict:
    text = Path(log).read_text() if isinstance(log, Path) else log
    if trap is not None:            # every URL of the log now points at the trap server
        text = text.replace("https://huggingface.co", trap.url).replace("https://hf.co", trap.url)
    proc = run_hfx("--probe", "--format", "json", *extra, "-", stdin=text.encode(), env=env, timeout=120)
    assert b"Traceback (most recent call last)" not in proc.stderr, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    for secret in (env.get("HF_TOKEN"),):
        if secret:
            assert secret.encode() not in proc.stdout + proc.stderr
    if trap is not None:
        assert trap.seen == [], f"a URL from the log was contacted: {trap.seen}"
    return doc


def alt(finding: dict, cause: str) -> dict:
    return next(a for a in finding["alternatives"] if a["cause"] == cause)


def test_gated_not_accepted_is_confirmed(tmp_path, hub, trap):
    tok = make_token()
    hub.add_token(tok, "alice")
    env = account(tmp_path, hub.url, stored=tok)
    doc = probed(FIXTURES / "seeds/guide-gated-llama3-not-accepted-403.log", env, trap)
    f = doc["findings"][0]
    assert f["cause"] == "gated-not-accepted" and f["probe"]["status"] == "confirmed"
    assert alt(f, "env-token-override")["probe"]["status"] == "refuted"
    assert not any(tok in json.dumps(r) for r in hub.requests if "auth-check" not in r["path"] and
                   "whoami" not in r["path"] and "agent" not in r["path"])


def test_gated_accepted_now_refutes(tmp_path, hub):
    tok = make_token()
    hub.add_token(tok, "alice")
    hub.set_access("alice", "meta-llama/Meta-Llama-3-8B", "accepted")
    env = account(tmp_path, hub.url, stored=tok)
    f = probed(FIXTURES / "seeds/guide-gated-llama3-not-accepted-403.log", env)["findings"][0]
    assert f["probe"]["status"] == "refuted" and f["confidence"] < 0.5


def test_whisperx_without_token(tmp_path, hub, trap):
    env = account(tmp_path, hub.url)
    f = probed(FIXTURES / "seeds/whisperx-seed-no-token-nonetype-to.log", env, trap)["findings"][0]
    assert f["cause"] == "pyannote-download-failed" and f["probe"]["status"] == "confirmed"
    assert "pyannote/segmentation-3.0" in f["probe"]["fact"]
    assert alt(f, "token-missing")["probe"]["status"] == "confirmed"


def test_submodel_not_accepted_named(tmp_path, hub):
    tok = make_token()
    hub.add_token(tok, "alice")
    hub.set_access("alice", "pyannote/speaker-diarization-3.1", "accepted")
    env = account(tmp_path, hub.url, env_token=tok)
    f = probed(FIXTURES / "field/whisperx-3.3-cli-nonetype-to.log", env)["findings"][0]
    assert f["cause"] == "pyannote-download-failed" and f["probe"]["status"] == "confirmed"
    assert "pyannote/segmentation-3.0" in f["probe"]["fact"]
    assert "speaker-diarization-3.1 (" not in f["probe"]["fact"]
    checks = {(c["id"], c["target"]): c["result"] for c in f["probe"]["checks"]}
    assert "pyannote/wespeaker-voxceleb-resnet34-LM" in checks[("pipeline-config", "pyannote/speaker-diarization-3.1")]
    assert checks[("gated-access", "pyannote/wespeaker-voxceleb-resnet34-LM")] == "ok"


def test_fine_grained_without_gated_access(tmp_path, hub, trap):
    tok = make_token()
    hub.add_token(tok, "alice", role="fineGrained", can_read_gated=False)
    hub.set_access("alice", "pyannote/speaker-diarization-3.0", "accepted")
    env = account(tmp_path, hub.url, env_token=tok)
    f = probed(FIXTURES / "seeds/whisperx-seed-finegrained-token-localentrynotfound.log", env, trap)["findings"][0]
    assert f["cause"] == "token-scope" and f["probe"]["status"] == "confirmed"
    assert alt(f, "gated-not-accepted")["probe"]["status"] == "refuted"


def test_invalid_token_seed(tmp_path, hub, trap):
    revoked = make_token()                      # never registered: the Hub rejects it
    env = account(tmp_path, hub.url, env_token=revoked)
    f = probed(FIXTURES / "seeds/seed-hfvalidationerror-token-invalid.log", env, trap)["findings"][0]
    assert f["cause"] == "token-invalid" and f["probe"]["status"] == "confirmed"
    assert alt(f, "token-legacy")["probe"]["status"] == "refuted"


def test_stale_hf_token_wins_over_login(tmp_path, hub):
    good, stale = make_token(), make_token()
    hub.add_token(good, "alice")
    env = account(tmp_path, hub.url, env_token=stale, stored=good)
    f = probed(FIXTURES / "field/hf-auth-login-hf-token-env-note-then-whoami-401.log", env)["findings"][0]
    assert f["cause"] == "env-token-override" and f["probe"]["status"] == "confirmed"
    assert "rejects the HF_TOKEN one and accepts the stored one" in f["probe"]["fact"]


def test_netrc_scenario_from_environment(tmp_path, hub):
    tok = make_token()
    hub.add_token(tok, "alice")
    env = account(tmp_path, hub.url, stored=tok, netrc="machine 127.0.0.1 login __token__ password " + "x" * 20 + "\n")
    f = probed(FIXTURES / "seeds/guide-netrc-conflict-whoami-401.log", env)["findings"][0]
    assert f["cause"] == "netrc-conflict" and f["probe"]["status"] == "confirmed"
    assert ".netrc" in f["probe"]["fact"] and "x" * 20 not in json.dumps(f)
    assert alt(f, "token-invalid")["probe"]["status"] == "refuted"
    clean = account(tmp_path / "b", hub.url, stored=tok)
    f = probed(FIXTURES / "seeds/guide-netrc-conflict-whoami-401.log", clean)["findings"][0]
    assert f["probe"]["status"] == "refuted"


@pytest.mark.parametrize("kind", ["down", "html", "redirect"])
def test_faulty_endpoint_is_inconclusive(tmp_path, kind, trap):
    tok = make_token()
    if kind == "down":
        t = Trap()
        url = t.url
        t.close()                                # nothing listens there any more
        server = None
    elif kind == "html":
        server = Trap(b"<html><body>Welcome</body></html>")
        url = server.url
    else:
        server = Trap(status=302, location=trap.url)
        url = server.url
    env = account(tmp_path, url, env_token=tok)
    doc = probed(FIXTURES / "seeds/guide-gated-llama3-not-accepted-403.log", env)
    f = doc["findings"][0]
    assert f["probe"]["status"] == "inconclusive", f["probe"]
    for entry in trap.seen:                      # a redirect to another host never carries the token
        assert tok not in json.dumps(entry["headers"])
    if server is not None:
        server.close()


class Faulty:
    """An endpoint that misbehaves: answers after ``delay`` seconds, with bytes that are not HTTP at
    all, or with a 200 whose JSON body is cut short (and a garbled X-Error-Code)."""

    def __init__(self, kind: str, delay: float = 0.0) -> None:
        import socket

        self.kind, self.delay = kind, delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn) -> None:
        import socket
        import time

        with conn:
            try:
                conn.recv(65536)
                if self.kind == "slow":
                    time.sleep(self.delay)         # past the probe's timeout
                    body = b'{"name": "alice"}'
                elif self.kind == "garbage":
                    conn.sendall(b"\x00\xff\xfeNOT HTTP AT ALL\r\n\x1b[31m" + bytes(range(256)) * 4)
                    return
                elif self.kind == "yes-to-all":         # a catch-all mock or portal: 200 JSON for any path
                    body = b'{"ok": true, "name": "alice", "type": "user"}'
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                    conn.shutdown(socket.SHUT_WR)
                    while conn.recv(65536):              # drain: closing with unread bytes resets
                        pass
                    return
                else:                              # truncated JSON
                    body = b'{"name": "alice", "auth": {"accessToken": {"role": '
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"X-Error-Code: \xff\xfe\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.mark.parametrize("kind", ["slow", "garbage", "truncated", "yes-to-all"])
def test_misbehaving_endpoint_is_inconclusive_with_a_reason(tmp_path, kind):
    """Slow (past HFEXPLAIN_PROBE_TIMEOUT), not HTTP, malformed JSON, or a 200 to every request
    (even an anonymous whoami): every verdict is inconclusive with the reason, nothing crashes,
    and the run is not held up."""
    import time

    server = Faulty(kind, delay=8.0)
    try:
        tok = make_token()
        env = {**account(tmp_path, server.url, env_token=tok), "HFEXPLAIN_PROBE_TIMEOUT": "0.5"}
        start = time.monotonic()
        doc = probed(FIXTURES / "seeds/guide-gated-llama3-not-accepted-403.log", env)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    f = doc["findings"][0]
    assert f["probe"]["status"] == "inconclusive", f["probe"]
    assert f["probe"]["fact"], "the verdict says why"
    for a in f["alternatives"]:
        assert a.get("probe", {}).get("status") in ("inconclusive", "refuted", "confirmed", None)
    if kind == "yes-to-all":
        assert "not the Hub API" in json.dumps(f["probe"]), f["probe"]
    if kind == "slow":
        assert "no answer within 0.5 s" in json.dumps(f["probe"]), f["probe"]
        assert elapsed < 30, f"each check waits 0.5 s at most, the run took {elapsed:.1f} s"


def test_doctor_reports_problems_with_causes(tmp_path, hub):
    good, stale = make_token(), make_token()
    hub.add_token(good, "alice", role="fineGrained", can_read_gated=False)
    env = account(tmp_path, hub.url, env_token=stale, stored=good)
    proc = run_hfx("doctor", "--format", "json", env=env, timeout=120)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["hfexplain"] == "1"
    by_id = {c["id"]: c for c in doc["checks"]}
    assert by_id["token-source"]["status"] == "warn" and by_id["token-source"]["cause"] == "env-token-override"
    assert by_id["token-valid"]["status"] == "fail"
    for c in doc["checks"]:
        assert c["status"] in ("ok", "warn", "fail", "skipped") and "summary" in c and "cause" in c
    assert stale.encode() not in proc.stdout and good.encode() not in proc.stdout
    env_ok = account(tmp_path / "ok", hub.url, stored=good)
    hub.add_token(good, "alice", role="read")
    proc = run_hfx("doctor", "--format", "json", env=env_ok, timeout=120)
    assert proc.returncode == 0, proc.stdout.decode()
    offline = run_hfx("doctor", "--offline", env=env_ok)
    assert offline.returncode == 0 and b"network checks are off" in offline.stdout


def test_stale_token_in_git_store_helper(tmp_path, hub):
    good, stale = make_token(), make_token()
    hub.add_token(good, "alice")
    env = account(tmp_path, hub.url, stored=good)
    home = Path(env["HOME"])
    (home / ".gitconfig").write_text("[credential]\n\thelper = store\n")
    (home / ".git-credentials").write_text(f"https://alice:{stale}@127.0.0.1\n")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    f = probed(FIXTURES / "seeds/guide-git-credential-helper-stale-token.log", env)["findings"][0]
    assert f["cause"] == "git-credentials" and f["probe"]["status"] == "confirmed", f["probe"]
    assert ".git-credentials" in f["probe"]["fact"] and stale not in json.dumps(f)
    assert alt(f, "token-invalid")["probe"]["status"] == "refuted"


def test_read_token_used_for_upload(tmp_path, hub, trap):
    tok = make_token()
    hub.add_token(tok, "alice", role="read")
    env = account(tmp_path, hub.url, env_token=tok)
    f = probed(FIXTURES / "seeds/guide-read-token-used-for-upload-403.log", env, trap)["findings"][0]
    assert f["cause"] == "token-read-only" and f["probe"]["status"] == "confirmed"


def test_organization_token(tmp_path, hub, trap):
    org = make_token("api_org_")
    env = account(tmp_path, hub.url, env_token=org)
    f = probed(FIXTURES / "seeds/whisperx-seed-org-api-token-login.log", env, trap)["findings"][0]
    assert f["cause"] == "token-legacy" and f["probe"]["status"] == "confirmed"


def test_hfuseragenterror_seed_without_token(tmp_path, hub, trap):
    env = account(tmp_path, hub.url)
    f = probed(FIXTURES / "seeds/seed-hfuseragenterror-401.log", env, trap)["findings"][0]
    assert f["cause"] == "token-missing" and f["probe"]["status"] == "confirmed"
    assert alt(f, "token-invalid")["probe"]["status"] == "refuted"


def test_accept_license_seed(tmp_path, hub, trap):
    tok = make_token()
    hub.add_token(tok, "alice")
    env = account(tmp_path, hub.url, env_token=tok)
    f = probed(FIXTURES / "seeds/seed-pyannote-filenotfounderror-accept-license.log", env, trap)["findings"][0]
    assert f["cause"] == "gated-not-accepted" and f["probe"]["status"] == "confirmed"
