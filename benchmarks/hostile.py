#!/usr/bin/env python3
"""Hostile inputs through the installed `hfexplain`: peak RSS and wall time per case.

    python benchmarks/hostile.py [--dir /tmp/hfx-hostile] [--only line-50MB,chain-10k] [--timeout 600]
                                 [--format json]

The cases (tests/hostile_inputs.py) are streamed into files — random bytes, invalid UTF-8,
NULs, a 50 MB line, no newline at all, 10 000 chained exceptions, a 200 000-frame traceback,
ANSI/control garbage, CR-only endings, regex near-misses, floods of distinct prefixes, repos
and events — then each is run as `hfexplain --format F FILE` in a child process whose own
peak RSS comes from ``os.wait4`` in a small launcher (forked straight from a big process, a
child would report that process's size: Linux keeps the peak across fork and exec), with its
wall time. A case passes when
the exit code is 0 or 1, stderr holds no Python traceback, the output parses (json) and the
gated-repo failure appended to the case is found. Prints a Markdown table. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile_inputs import CASES, GATED_CAUSE, measure, write


def hfexplain() -> list[str]:
    exe = shutil.which("hfexplain")
    return [exe] if exe else [sys.executable, "-m", "analyzer.cli"]


def run_case(path: Path, fmt: str, timeout: float) -> dict:
    out_path = path.with_suffix(".out")
    err_path = path.with_suffix(".err")
    env = {**os.environ, "NO_COLOR": "1"}
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        code, rss, wall = measure([*hfexplain(), "--format", fmt, str(path)], stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=err, env=env, timeout=timeout)
    stderr = err_path.read_bytes()
    result = {"wall": wall, "rss_mb": rss, "code": code, "timeout": code is None,
              "traceback": b"Traceback (most recent call last)" in stderr, "out_bytes": out_path.stat().st_size,
              "notes": [line for line in stderr.decode(errors="replace").splitlines() if "note:" in line]}
    if fmt == "json" and not result["timeout"]:
        try:
            doc = json.loads(out_path.read_bytes())
            causes = [f["cause"] for f in doc["findings"]]
            result["findings"] = len(causes)
            result["gated_found"] = GATED_CAUSE in causes
        except (ValueError, KeyError) as exc:
            result["bad_output"] = f"{type(exc).__name__}: {exc}"
    out_path.unlink()
    err_path.unlink()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=None, help="where the case files go (default: a temp dir)")
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds before a case counts as hung")
    ap.add_argument("--format", default="json", choices=["text", "json", "jsonl", "markdown"])
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="hfx-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.only.split(",") if n] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASES)}", file=sys.stderr)
        return 2
    print(f"hfexplain: {' '.join(hfexplain())}  python {sys.version.split()[0]}  cpus {os.cpu_count()}\n")
    print("| case | input | size MB | exit | wall s | MB/s | peak RSS MB | findings | gated found | ok |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    worst_rss, slowest, failures, notes = (0.0, ""), (0.0, ""), 0, []
    for name in names:
        gen, what = CASES[name]
        path = work / f"{name}.log"
        size = write(path, gen())
        r = run_case(path, args.format, args.timeout)
        if not args.keep:
            path.unlink()
        ok = (not r["timeout"] and r["code"] in (0, 1) and not r["traceback"] and "bad_output" not in r
              and r.get("gated_found", True) is not False)
        failures += not ok
        mb = size / 1024 / 1024
        worst_rss = max(worst_rss, (r["rss_mb"], name))
        slowest = max(slowest, (r["wall"], name))
        code = "hung" if r["timeout"] else str(r["code"])
        notes += [f"{name}: {n.removeprefix('hfexplain: ')}" for n in r["notes"]]
        verdict = "ok" if ok else "FAIL " + r.get("bad_output", "")
        print(f"| {name} | {what} | {mb:.1f} | {code} | {r['wall']:.2f} | {mb / r['wall']:.1f} | {r['rss_mb']:.0f} | "
              f"{r.get('findings', '-')} | {r.get('gated_found', '-')} | {verdict} |", flush=True)
    if notes:
        print("\n" + "\n".join(notes))
    print(f"\npeak RSS: {worst_rss[0]:.0f} MB ({worst_rss[1]}); slowest: {slowest[0]:.2f} s ({slowest[1]}); "
          f"{len(names) - failures}/{len(names)} cases ok")
    if not args.keep and args.dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
