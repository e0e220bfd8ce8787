"""The types of everything rawgpt returns, for annotations and the type checker.

Each class is the view rawgpt hands out (``isinstance`` works), written like
the official SDK's models: the same class and field names, the same
optionality. At run time a view reads the parsed JSON on attribute access and
validates nothing; for mypy and pyright every field has its type, so a typo or
a missing None check is an error before the code runs.

``rawgpt.types.chat`` and ``rawgpt.types.embeddings`` hold the classes by
endpoint; the common ones are here too. ``rawgpt.types.responses`` holds the
Responses API's (its ``Response`` is that answer's class, not the base here);
import it by name: ``import rawgpt`` does not load it.
"""

from __future__ import annotations

from ._view import ListView, Object, Response, UnionListView, View
from .chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageCustomToolCall,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChunkChoice,
    CompletionUsage,
)
from .embeddings import CreateEmbeddingResponse, Embedding

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageCustomToolCall",
    "ChatCompletionMessageFunctionToolCall",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChunkChoice",
    "CompletionUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "ListView",
    "Object",
    "Response",
    "UnionListView",
    "View",
]
