"""Installed size: each client's packages and their dependencies in a fresh venv.

``python -m benchmarks.scenarios.size [CLIENT ...]`` creates one empty venv per
client (``python -m venv --without-pip``, so pip itself is not counted) under a
temporary directory, installs the client's packages into it with this
interpreter's pip (``pip --python``), pinned to the versions installed here so
the sizes match the versions the rest of the suite measures, and sums
``site-packages`` the way ``du`` does (allocated blocks, hard links once).
rawgpt is installed from this checkout. Results are cached in a JSON file keyed
by the interpreter, the pinned versions, and rawgpt's version and source size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.env import ROOT


def _pin(dist: str, extra: str = "") -> str:
    try:
        return f"{dist}{extra}=={metadata.version(dist)}"
    except metadata.PackageNotFoundError:
        return f"{dist}{extra}"


def package_sets() -> dict[str, list[str]]:
    """Client -> what its user installs, pinned to the versions installed here."""
    floor = [_pin("aiohttp"), _pin("orjson")]
    return {
        "bare": floor,
        "rawgpt": [str(ROOT), *floor],
        "sdk": [_pin("openai")],
        "sdk-aiohttp": [_pin("openai", "[aiohttp]")],
        "httpx": [_pin("httpx"), _pin("orjson")],
    }


def cache_key(sets: dict[str, list[str]]) -> str:
    """Interpreter, platform, the pinned sets, rawgpt's version and its size to 0.1 MB.

    rawgpt's sources change often while the figure (shown to 0.1 MB) does not: a
    rerun reuses the cache until rawgpt's own files grow or shrink by ~0.1 MB.
    """
    source = sum(p.stat().st_size for p in (ROOT / "rawgpt").rglob("*.py"))
    parts = [sys.version.split()[0], sys.platform, os.uname().machine, json.dumps(sets)]
    parts += [_pin("rawgpt"), f"{source / 1e6:.1f}"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def du_bytes(root: Path) -> tuple[int, int]:
    """(allocated bytes as ``du`` counts them, apparent bytes) under ``root``."""
    seen: set[tuple[int, int]] = set()
    allocated = apparent = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            allocated += st.st_blocks * 512
            apparent += st.st_size
    return allocated, apparent


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


def measure_one(client: str, requirements: list[str], workdir: Path) -> dict[str, Any]:
    """A fresh venv for ``client``: install, then measure its site-packages."""
    venv = workdir / client
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    cmd = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
    proc = subprocess.run(
        [*cmd, "--quiet", "--disable-pip-version-check", *requirements],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip install for {client} failed:\n{proc.stderr[-2000:]}")
    site = _site_packages(venv)
    allocated, apparent = du_bytes(site)
    dists = sorted(
        f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions(path=[str(site)])
    )
    return {
        "client": client,
        "requirements": requirements,
        "du_mb": allocated / 1e6,
        "apparent_mb": apparent / 1e6,
        "distributions": dists,
        "install_s": time.perf_counter() - started,
    }


def measure_sizes(clients: list[str], parallel: int = 2) -> dict[str, dict[str, Any]]:
    """Install every client's set in its own fresh venv (``parallel`` at a time) and measure."""
    sets = package_sets()
    with (
        tempfile.TemporaryDirectory(prefix="rawgpt-size-") as tmp,
        ThreadPoolExecutor(parallel) as pool,
    ):
        futures = {c: pool.submit(measure_one, c, sets[c], Path(tmp)) for c in clients}
        return {c: f.result() for c, f in futures.items()}


def cached_sizes(cache: Path, clients: list[str]) -> dict[str, dict[str, Any]] | None:
    """The cached sizes when the cache matches this checkout and these versions, else None."""
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    sizes: dict[str, dict[str, Any]] = data.get("sizes", {})
    if data.get("key") != cache_key(package_sets()) or not set(clients) <= set(sizes):
        return None
    return {c: sizes[c] for c in clients}


def save_sizes(cache: Path, sizes: dict[str, dict[str, Any]]) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    payload = {"key": cache_key(package_sets()), "measured": time.time(), "sizes": sizes}
    cache.write_text(json.dumps(payload, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clients", nargs="*", help=f"default: all of {', '.join(package_sets())}")
    args = parser.parse_args(argv)
    for row in measure_sizes(args.clients or list(package_sets())).values():
        print(f"{row['client']:<12} {row['du_mb']:6.1f} MB  {row['install_s']:5.1f}s", flush=True)
        print("   ", " ".join(row["distributions"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
