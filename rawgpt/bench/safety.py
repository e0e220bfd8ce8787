"""Before sending to a paid endpoint: say how many requests and what they may cost; ask.

Only a non-loopback host asks. On a terminal the user answers; without one the
run is refused unless ``--yes`` was given, so a script never spends money by
accident. The cost is an estimate: every request's prompt tokens and its
``max_tokens`` at the price table's rate (the most it could cost, if each reply
runs to its limit).
"""

from __future__ import annotations

from collections.abc import Callable

Price = tuple[float, float]  # USD per 1M tokens (input, output)


def estimate(
    requests: int, prompt_tokens: int, max_tokens: int, price: Price | None
) -> float | None:
    """Estimated USD at most for ``requests`` requests, or None without a price."""
    if price is None:
        return None
    return requests * (prompt_tokens * price[0] + max_tokens * price[1]) / 1_000_000


def summary(host: str, requests: int | None, cost: float | None, model: str, note: str) -> str:
    """What the prompt says: where, how many, and the cost (or why there is none)."""
    count = f"{requests} requests" if requests is not None else "requests for the whole duration"
    if cost is None:
        money = f"no price known for {model!r}: cost not estimated"
    else:
        money = f"estimated cost at most ${cost:.4f} ({note})"
    return f"rawgpt bench will send {count} to {host}; {money}."


class Refused(Exception):
    """The user said no, or there was no one to ask."""


def confirm(
    *,
    loopback: bool,
    yes: bool,
    tty: bool,
    message: str,
    ask: Callable[[str], str],
    say: Callable[[str], None],
) -> None:
    """Return when the run may go ahead; raise Refused otherwise."""
    if loopback:
        return
    say(message)
    if yes:
        return
    if not tty:
        raise Refused("not a terminal, so no one to confirm: pass --yes to send anyway")
    answer = ask("Send them? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise Refused("not confirmed; nothing was sent")
