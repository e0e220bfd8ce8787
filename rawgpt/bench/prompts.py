"""The chat bodies a benchmark sends: synthetic prompts, or lines of a JSONL file.

A synthetic prompt is ``prompt_tokens`` common English words (about one token
each for OpenAI's tokenizers), drawn afresh per request and per client, so no
two requests share a prefix a server could cache. A ``--prompts`` file holds
one JSON object per line: a chat completions body (with ``messages``) or a
Batch API line (``custom_id``, ``method``, ``url``, ``body``); its requests are
sent in order, from the top again when the run wants more. ``--model`` and
``--max-tokens``, when given, replace the file's; ``stream`` is the run's.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

CHAT_PATH = "/chat/completions"
_WORDS = (
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "it",
    "for",
    "on",
    "was",
    "with",
    "as",
    "be",
    "at",
    "by",
    "this",
    "from",
    "or",
    "have",
    "an",
    "are",
    "not",
    "but",
    "had",
    "which",
    "one",
    "you",
    "all",
    "were",
    "her",
    "she",
    "there",
    "would",
    "their",
    "we",
    "him",
    "been",
    "has",
    "when",
    "who",
    "will",
    "more",
    "no",
    "if",
    "out",
    "so",
    "said",
    "what",
    "up",
    "its",
    "about",
    "into",
    "than",
    "them",
    "can",
    "only",
    "other",
    "new",
    "some",
    "could",
    "time",
    "these",
    "two",
    "may",
    "then",
    "do",
    "first",
    "any",
    "my",
    "now",
    "such",
    "like",
    "our",
    "over",
    "man",
    "me",
    "even",
    "most",
    "made",
    "after",
    "also",
    "did",
    "many",
    "before",
    "must",
    "through",
    "back",
    "years",
    "where",
    "much",
    "your",
    "way",
    "well",
    "down",
    "should",
    "because",
    "each",
    "just",
    "those",
    "people",
    "how",
    "too",
    "little",
    "state",
    "good",
    "very",
    "make",
    "world",
    "still",
    "own",
    "see",
    "men",
    "work",
    "long",
    "get",
    "here",
    "between",
    "both",
    "life",
    "being",
    "under",
    "never",
    "day",
    "same",
    "another",
    "know",
    "while",
    "last",
    "might",
    "us",
    "great",
    "old",
    "year",
    "off",
    "come",
    "since",
    "against",
    "go",
    "came",
    "right",
    "used",
    "take",
    "three",
)


def synthetic(tokens: int, rng: random.Random) -> str:
    """About ``tokens`` tokens of English words, drawn from ``rng``."""
    return " ".join(rng.choice(_WORDS) for _ in range(tokens))


def load(path: str) -> list[dict[str, Any]]:
    """The chat bodies of a JSONL file; a ValueError names the file and line of a bad one."""
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise ValueError(f"--prompts {path}: {exc.strerror or exc}") from None
    bodies: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"--prompts {path}, line {number}"
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise ValueError(f"{where}: not JSON") from None
        if not isinstance(item, dict):
            raise ValueError(f"{where}: not a JSON object")
        if "body" in item and "url" in item:  # a Batch API line
            url, item = item["url"], item["body"]
            if not isinstance(url, str) or not url.endswith(CHAT_PATH):
                raise ValueError(f"{where}: url {url!r} is not /v1/chat/completions")
            if not isinstance(item, dict):
                raise ValueError(f"{where}: body is not a JSON object")
        if not isinstance(item.get("messages"), list):
            raise ValueError(f"{where}: no messages (want a chat body or a Batch API line)")
        bodies.append(item)
    if not bodies:
        raise ValueError(f"--prompts {path}: no requests in the file")
    return bodies


class Prompts:
    """Request ``index``'s body for one client (negative indexes are warm-up requests)."""

    def __init__(
        self,
        *,
        model: str | None,
        stream: bool,
        max_tokens: int | None,
        prompt_tokens: int,
        seed: int,
        client: str,
        bodies: list[dict[str, Any]] | None = None,
    ) -> None:
        if bodies is None and model is None:
            raise ValueError("a model is needed for synthetic prompts")
        self._model = model
        self._stream = stream
        self._max_tokens = max_tokens
        self._tokens = prompt_tokens
        self._salt = f"{seed}:{client}"
        self._bodies = bodies

    def body(self, index: int) -> dict[str, Any]:
        if self._bodies is None:
            rng = random.Random(f"{self._salt}:{index}")
            messages = [{"role": "user", "content": synthetic(self._tokens, rng)}]
            body: dict[str, Any] = {"model": self._model, "messages": messages}
        else:
            body = dict(self._bodies[index % len(self._bodies)])
            if self._model is not None:
                body["model"] = self._model
        if self._max_tokens is not None:
            key = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
            body[key] = self._max_tokens
        body["stream"] = self._stream
        if self._stream:
            options = body.get("stream_options")
            body["stream_options"] = {
                **(options if isinstance(options, dict) else {}),
                "include_usage": True,
            }
        else:
            body.pop("stream_options", None)
        return body
