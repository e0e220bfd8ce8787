"""Estimated prices, USD per 1M tokens (input, output), for usage and batch summaries.

PRICES_DATE says when the table was taken from OpenAI's pricing page. Prices
change: users pass their own table (``prices=`` on the client, ``--prices FILE``
on the batch command), which wins over this one. Models are matched by the
longest known prefix, so dated snapshots ("gpt-4o-mini-2024-07-18") find
their family; an unknown model has no estimate rather than a wrong one.
"""

from __future__ import annotations

from collections.abc import Mapping

PRICES_DATE = "2025-08"

Price = tuple[float, float]

PRICES: dict[str, Price] = {
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o1-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
    "text-embedding-ada-002": (0.10, 0.0),
}


def price_for(model: str, table: Mapping[str, Price] | None = None) -> Price | None:
    """The (input, output) price of ``model``: exact name first, then the longest prefix."""
    table = PRICES if table is None else table
    exact = table.get(model)
    if exact is not None:
        return exact
    best: str | None = None
    for name in table:
        if model.startswith(name + "-") and (best is None or len(name) > len(best)):
            best = name
    return None if best is None else table[best]


def cost_usd(
    model: str, prompt: int, completion: int, table: Mapping[str, Price] | None = None
) -> float | None:
    """Estimated USD for the tokens, or None for a model without a known price."""
    price = price_for(model, table)
    return None if price is None else priced(price, prompt, completion)


def priced(price: Price, prompt: int, completion: int) -> float:
    """USD for ``prompt`` input and ``completion`` output tokens at ``price`` (per 1M)."""
    return (prompt * price[0] + completion * price[1]) / 1_000_000
