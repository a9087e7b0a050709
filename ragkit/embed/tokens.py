"""Token-level output of an embedder: each token's hidden state and character offsets.

Texts longer than the window run as overlapping macro-windows (:mod:`ragkit.embed._windows`);
each token's state comes from the window where it has the most context on both sides.

Usage::

    tokens = embedder.token_states("a long document ...")  # TokenStates
    tokens.states.shape, tokens.offsets[0], tokens.windows  # (T, H), (start, end), runs
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ragkit.types import Matrix

__all__ = ["TokenStates"]


@dataclass(frozen=True)
class TokenStates:
    """The model's per-token output for one text: each text token once, in order.

    Prompt tokens and special tokens (``[CLS]``, ``[SEP]``...) are run but not returned.

    Attributes:
        states: Last-layer hidden states, float32 ``(T, H)``: not pooled, not normalised,
            full model width (the Matryoshka ``dim`` applies after pooling).
        offsets: ``(T, 2)`` character offsets ``[start, end)`` of each token in the text
            (the prompt not counted): ``text[start:end]`` is what the token covers.
        ids: ``(T,)`` token ids.
        windows: Model runs (macro-windows) the text took: 1 when it fits the window.
    """

    states: Matrix
    offsets: npt.NDArray[np.int64]
    ids: npt.NDArray[np.int64]
    windows: int

    def __len__(self) -> int:
        """Number of text tokens."""
        return len(self.ids)
