"""Embeddings: the answer of ``embeddings.create()`` (the SDK's field names)."""

from __future__ import annotations

from typing import Literal

from ._view import ListView, Response, View


class Embedding(View):
    """One input's vector (a list of floats, or a base64 string when asked for)."""

    object: Literal["embedding"]
    index: int
    embedding: ListView[float]


class EmbeddingUsage(View):
    """Token counts of an embeddings call."""

    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(Response):
    """The answer of ``embeddings.create()``."""

    object: Literal["list"]
    data: ListView[Embedding]
    model: str
    usage: EmbeddingUsage
