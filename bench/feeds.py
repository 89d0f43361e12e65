"""Feeds benchmark: `furat feeds poll` over a local web of outlets, first and unchanged.

usage: python -m bench.feeds [--feeds 500] [--entries 20] [--json] [--results FILE]
The baseline, measured in the same run, fetches the same feeds and pages with the same client
and limits but neither parses, extracts nor indexes anything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.results import RESULTS, write_section
from sources.opml import opml_document

ROOT = Path(__file__).resolve().parent.parent
_LINK_RE = re.compile(rb"<link>([^<]+)</link>")


def _furat(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run `python -m bot ARGS`; return its wall seconds, peak RSS in MiB, and stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the largest child so far
    if proc.returncode not in (0, 1):
        raise RuntimeError(err.decode())
    return elapsed, usage.ru_maxrss / 1024, out.decode()


async def _fetch_only(urls: list[str]) -> float:
    """Fetch every feed and every page it links to, as the poller would, doing nothing else."""
    from sources.fetch import Fetcher
    from sources.urls import AddressPolicy

    started = time.perf_counter()
    async with Fetcher(policy=AddressPolicy(allow_private=True)) as fetcher:
        feeds = await asyncio.gather(*(fetcher.get(u) for u in urls))
        pages = [m.decode() for f in feeds for m in _LINK_RE.findall(f.body)[1:]]
        await asyncio.gather(*(fetcher.get(p) for p in pages))
    return time.perf_counter() - started


def feeds(n_feeds: int, entries: int) -> dict[str, Any]:
    """Serve n_feeds × entries locally, poll them twice with `furat feeds poll`; time it."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.feedserver", str(n_feeds), str(entries)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        urls = [f"http://127.0.0.1:{port}/feed/{i}.xml" for i in range(n_feeds)]
        with tempfile.TemporaryDirectory() as tmp:
            opml = Path(tmp) / "feeds.opml"
            opml.write_text(opml_document([(u, None) for u in urls]), encoding="utf-8")
            env = {
                **os.environ,
                "FURAT_DB": str(Path(tmp) / "feeds.db"),
                "FURAT_SEEDS": str(Path(tmp) / "no-seeds"),
                "FURAT_ALLOW_PRIVATE_URLS": "1",
            }
            _furat(["feeds", "import", str(opml)], env)
            first_s, peak_mib, out = _furat(["feeds", "poll", "--json"], env)
            lines = [json.loads(line) for line in out.splitlines()]
            again_s, _, out = _furat(["feeds", "poll", "--json"], env)
            again = [json.loads(line) for line in out.splitlines()]
        fetch_s = asyncio.run(_fetch_only(urls))
    finally:
        server.kill()
        server.wait()
    return {
        "feeds": n_feeds,
        "entries": entries,
        "feeds_first_poll_s": first_s,
        "feeds_304_poll_s": again_s,
        "feeds_peak_mib": peak_mib,
        "feeds_fetch_only_s": fetch_s,
        "feeds_new_articles": sum(x["new"] for x in lines),
        "feeds_failed": sum(x["status"] == "error" for x in lines),
        "feeds_not_modified": sum(x["status"] == "not_modified" for x in again),
    }


def render(m: dict[str, Any]) -> str:
    """Return the Markdown table of one run."""
    pages = m["feeds"] * m["entries"]
    ratio = m["feeds_first_poll_s"] / m["feeds_fetch_only_s"]
    filed = f"{m['feeds_new_articles']} / {m['feeds_failed']}"
    rows = [
        ("first poll, s", f"{m['feeds_first_poll_s']:.1f}", f"{m['feeds_fetch_only_s']:.1f}"),
        ("first poll, ratio to fetching alone", f"{ratio:.1f}", "1"),
        ("poll where every feed answers 304, s", f"{m['feeds_304_poll_s']:.2f}", "—"),
        ("peak memory of the polling process, MiB", f"{m['feeds_peak_mib']:.0f}", "—"),
        ("articles filed / feeds failed", filed, f"{pages} / 0"),
        ("feeds answering 304 on the second poll", str(m["feeds_not_modified"]), str(m["feeds"])),
    ]
    lines = [
        f"## Feeds: {m['feeds']} feeds × {m['entries']} entries served locally "
        f"(python -m bench.feeds --feeds {m['feeds']} --entries {m['entries']})",
        "",
        "| measure | Furat | baseline: the same fetches alone (same run) |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and print its table, or its JSON object."""
    parser = argparse.ArgumentParser(prog="python -m bench.feeds")
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown file to update")
    args = parser.parse_args()
    m = feeds(args.feeds, args.entries)
    table = render(m)
    write_section(f"feeds-{args.feeds}x{args.entries}", table, args.results)
    print(json.dumps(m) if args.json else table)


if __name__ == "__main__":
    main()
