"""RankGPT-style listwise prompts, token budgets and permutation parsing (pure functions).

The prompt numbers the passages ``[1]..[n]`` and asks for a permutation such as
``[3] > [1] > [2]``. :func:`parse_permutation` turns whatever the model answered into a valid
permutation of ``0..n-1``; :func:`window_spans` lays out RankGPT's sliding windows, back to front.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

__all__ = [
    "answer_tokens",
    "chars_per_token_count",
    "messages",
    "parse_permutation",
    "prompt_tokens",
    "truncate",
    "window_spans",
]

logger = logging.getLogger("ragkit.rerank.llm")

TokenCount = Callable[[str], int]

SYSTEM = (
    "You are RankGPT, an intelligent assistant that can rank passages based on their relevance "
    "to the query."
)
_HEAD = (
    "I will provide you with {n} passages, each indicated by a numerical identifier []. "
    "Rank the passages based on their relevance to the search query: {query}"
)
_TAIL = (
    "Search query: {query}\n"
    "Rank the {n} passages above based on their relevance to the search query. List them in "
    "descending order of relevance using their identifiers, most relevant first. The output "
    "format should be [] > [], e.g. [2] > [1]. Only give the ranking, no words or explanation."
)
_BRACKETED = re.compile(r"[\[({<【]\s*(\d+)\s*[\])}>】]")
_NUMBER = re.compile(r"\d+")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"<think>", re.IGNORECASE)
_CLOSE_THINK = re.compile(r"</think>", re.IGNORECASE)


def chars_per_token_count(text: str) -> int:
    """Estimate tokens as one per four characters (rounded up), the usual rule for English."""
    return (len(text) + 3) // 4


def messages(query: str, texts: Sequence[str]) -> list[dict[str, str]]:
    """The chat messages that ask for a ranking of ``texts`` (numbered from 1) for ``query``."""
    n = len(texts)
    numbered = "\n".join(f"[{i}] {' '.join(text.split())}" for i, text in enumerate(texts, 1))
    body = "\n\n".join([_HEAD.format(n=n, query=query), numbered, _TAIL.format(n=n, query=query)])
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": body}]


def prompt_tokens(query: str, texts: Sequence[str], count: TokenCount) -> int:
    """Estimated tokens of :func:`messages` (a few per message for the chat template)."""
    return sum(count(m["content"]) + 4 for m in messages(query, texts))


def answer_tokens(n: int) -> int:
    """Tokens to reserve for the answer to a ranking of ``n`` passages (``[12] > `` each)."""
    return 5 * n + 16


def truncate(text: str, max_tokens: int, count: TokenCount) -> str:
    """The longest prefix of ``text`` within ``max_tokens``, cut at a word boundary when one is near.

    Args:
        text: The passage.
        max_tokens: Token budget for it.
        count: Token counter.

    Returns:
        ``text`` itself when it fits, else its longest prefix that does (found by bisection).
    """
    if count(text) <= max_tokens:
        return text
    low, high = 0, len(text)  # count(text[:low]) fits, count(text[:high]) does not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if count(text[:middle]) <= max_tokens else (low, middle)
    cut = text[:low]
    space = cut.rfind(" ")
    return cut[:space] if space > 0.8 * len(cut) else cut


def window_spans(n: int, window: int, step: int) -> list[tuple[int, int]]:
    """RankGPT's sliding windows over ``n`` ranked items, from the back of the list to the front.

    Each span is ``(start, end)``; the last one always starts at 0, so every item is ranked and
    the best ones bubble up to the front.
    """
    if n <= window:
        return [(0, n)]
    spans, end = [], n
    while True:
        start = max(0, end - window)
        spans.append((start, end))
        if start == 0:
            return spans
        end -= step


def parse_permutation(answer: str, n: int) -> list[int]:
    """Read a ranking of ``n`` passages from a model's answer, repairing what is malformed.

    Identifiers are read in brackets of any kind (``[3]``, ``(3)``, ``【3】``...), or as bare
    numbers when there are none; a ``<think>`` block is ignored. Duplicates keep their first
    place, identifiers outside ``1..n`` are dropped, and missing ones follow in their original
    order. An answer with no usable identifier keeps the original order, with a logged warning.

    Args:
        answer: The model's message.
        n: How many passages were numbered.

    Returns:
        A permutation of ``range(n)``: the 0-based positions, best first.
    """
    text = _OPEN_THINK.split(_THINK.sub(" ", answer))[0]  # an unclosed block: all reasoning
    text = _CLOSE_THINK.split(text)[-1]  # reasoning whose opening tag was in the template
    found = [int(i) for i in _BRACKETED.findall(text) or _NUMBER.findall(text)]
    order = list(dict.fromkeys(i - 1 for i in found if 1 <= i <= n))
    if not order:
        logger.warning(
            "The LLM's answer holds no ranking of the %d passages; keeping their order. "
            "Answer: %.200r",
            n,
            answer,
        )
        return list(range(n))
    if len(order) < n or len(found) != n:
        logger.debug(
            "Repaired the LLM's ranking: %d identifiers read, %d valid, %d missing appended",
            len(found),
            len(order),
            n - len(order),
        )
    seen = set(order)
    return order + [i for i in range(n) if i not in seen]
