"""``--json`` (the summary) and ``--csv`` (one row per request) files."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import orjson

from .runner import ClientRun
from .stats import Summary

CSV_FIELDS = (
    "client", "index", "ok", "error", "status", "start_s", "ttft_ms", "e2e_ms", "tpot_ms",
    "itl_mean_ms", "itl_max_ms", "output_tokens", "prompt_tokens", "tokens_from",
)  # fmt: skip


def _clean(value: Any) -> Any:
    """NaN becomes null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def report(
    summaries: dict[str, Summary], workload: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    """The ``--json`` document: ``workload``, ``clients`` by name, and ``meta``."""
    return {
        "workload": workload,
        "clients": {name: _clean(s.to_dict()) for name, s in summaries.items()},
        "meta": meta,
    }


def write_json(path: str, document: dict[str, Any]) -> None:
    Path(path).write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000.0:.3f}"


def _blank(value: int | None) -> int | str:
    return "" if value is None else value


def write_csv(path: str, runs: dict[str, ClientRun]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_FIELDS)
        for name, run in runs.items():
            for r in sorted(run.records, key=lambda rec: rec.start):
                gaps = r.gaps
                writer.writerow(
                    [
                        name, r.index, int(r.ok), r.error or "", _blank(r.status),
                        f"{r.start:.6f}", _ms(r.ttft), _ms(r.e2e), _ms(r.tpot),
                        _ms(sum(gaps) / len(gaps) if gaps else None), _ms(r.max_gap),
                        r.output_tokens, _blank(r.prompt_tokens),
                        r.tokens_from,
                    ]
                )  # fmt: skip
