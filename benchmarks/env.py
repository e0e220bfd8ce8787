"""Where the benchmarks run: this checkout, child processes' environment, machine, versions."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PROXY_VARS = ("https_proxy", "http_proxy", "all_proxy", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
PACKAGES = ("rawgpt", "aiohttp", "orjson", "openai", "httpx", "httpx2", "pydantic", "httpx-sse")


def child_env() -> dict[str, str]:
    """The environment for child processes: this checkout importable, no proxies.

    Proxy variables would route loopback traffic differently per library (and
    make aiohttp sessions read the environment per request), so they are dropped.
    """
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def versions() -> dict[str, str]:
    """Interpreter, installed package versions and platform (read without importing them)."""
    info = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or "?",
        "cpus": str(os.cpu_count()),
    }
    for name in PACKAGES:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    return info


def _first_line(path: str, prefix: str) -> str:
    try:
        with open(path) as f:
            return next((x.split(":", 1)[1].strip() for x in f if x.startswith(prefix)), "?")
    except OSError:
        return "?"


def machine() -> str:
    """CPU model, logical CPUs, memory and OS, in one line (Linux details when available)."""
    cpu = _first_line("/proc/cpuinfo", "model name")
    if cpu == "?":
        cpu = platform.processor() or platform.machine()
    mem = _first_line("/proc/meminfo", "MemTotal")
    memory = f", {int(mem.split()[0]) / 2**20:.1f} GiB RAM" if mem.endswith("kB") else ""
    return f"{cpu}, {os.cpu_count()} logical CPUs{memory}, {platform.platform()}"


def print_versions(info: dict[str, str]) -> None:
    print(
        f"Python {info['python']} ({info['implementation']}) on {info['platform']}, "
        f"{info['machine']}, {info['cpus']} CPUs, load average {load()}"
    )
    print(", ".join(f"{name} {info[name]}" for name in PACKAGES))


def load() -> str:
    """The 1-minute load average: other work on the machine shows up as noise."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"
