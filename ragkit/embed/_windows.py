"""Macro-windows over a long text: where each model run starts, and which states it keeps.

A text longer than the model's window runs as overlapping windows of the window's size (each
with the special tokens and the document prompt). Every token keeps the state from the window
where it has the most context on both sides: consecutive windows hand over at the middle of
their overlap, so a token at least ``overlap // 2`` tokens from the document's edges sees at
least that many tokens on each side in the window its state comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from tokenizers import Encoding

from ragkit.errors import ConfigError

__all__ = ["TextLayout", "Window", "default_overlap", "plan_windows"]


@dataclass(frozen=True)
class Window:
    """One model run over text tokens ``[start, end)``, keeping the states of ``[keep_start, keep_end)``."""

    start: int
    end: int
    keep_start: int
    keep_end: int


def default_overlap(max_tokens: int) -> int:
    """The default overlap of macro-windows: a quarter of the window (64 tokens for 256)."""
    return max_tokens // 4


def plan_windows(n_tokens: int, capacity: int, overlap: int) -> list[Window]:
    """Cover ``n_tokens`` text tokens with windows of ``capacity`` tokens overlapping by ``overlap``.

    Windows start every ``capacity - overlap`` tokens and the last one ends at the text's end
    (so it is full too). Each token is kept from exactly one window: the one whose centre is
    nearest, i.e. where it has the most context on both sides.

    Args:
        n_tokens: Text tokens (prompt and special tokens not counted).
        capacity: Text tokens one window holds (the window less prompt and special tokens).
        overlap: Tokens shared by neighbouring windows, ``0 <= overlap < capacity``.

    Returns:
        The windows in order; none for an empty text, one when the text fits.

    Raises:
        ConfigError: ``capacity`` is below 1 or ``overlap`` is out of range.
    """
    if capacity < 1:
        raise ConfigError(
            f"The window leaves {capacity} tokens for text after the prompt and special "
            "tokens; use a shorter prompt or a model with a larger window."
        )
    if not 0 <= overlap < capacity:
        raise ConfigError(
            f"overlap must be between 0 and {capacity - 1} (the text tokens a window holds), "
            f"got {overlap}."
        )
    if n_tokens <= capacity:
        return [Window(0, n_tokens, 0, n_tokens)] if n_tokens else []
    stride = capacity - overlap
    starts = list(range(0, n_tokens - capacity, stride)) + [n_tokens - capacity]
    # Hand over at the middle of each overlap: the nearer centre wins, ties to the earlier.
    cuts = [(a + b + capacity - 1) // 2 + 1 for a, b in zip(starts, starts[1:], strict=False)]
    keeps = [0, *cuts, n_tokens]
    return [
        Window(start, start + capacity, keeps[i], keeps[i + 1]) for i, start in enumerate(starts)
    ]


@dataclass
class TextLayout:
    """One text tokenised whole: its prompt tokens, its text tokens and their offsets."""

    lead: list[int]  # the prompt's tokens
    ids: list[int]  # the text's tokens
    offsets: npt.NDArray[np.int64]  # (T, 2) into the text, prompt not counted
    capacity: int  # text tokens one window holds
    windows: int = 0

    @classmethod
    def build(cls, encoding: Encoding, prompt_chars: int, room: int) -> TextLayout:
        offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
        in_prompt = (offsets[:, 0] < prompt_chars) & (offsets[:, 1] <= prompt_chars)
        lead = int(np.argmin(in_prompt)) if not in_prompt.all() else len(in_prompt)
        text_offsets = np.maximum(offsets[lead:] - prompt_chars, 0)
        ids = list(encoding.ids)
        return cls(ids[:lead], ids[lead:], text_offsets, room - lead)

    def window_ids(self, window: Window, before: list[int], after: list[int]) -> list[int]:
        """The ids one window feeds: special tokens, the prompt, its text tokens."""
        return [*before, *self.lead, *self.ids[window.start : window.end], *after]

    def plan(self, overlap: int | None, max_tokens: int) -> list[Window]:
        chosen = min(default_overlap(max_tokens), self.capacity - 1) if overlap is None else overlap
        windows = plan_windows(len(self.ids), self.capacity, chosen)
        self.windows = len(windows)
        return windows
