"""``RagkitRerank``: ragkit's ONNX cross-encoder as a LlamaIndex node postprocessor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import BaseNode, MetadataMode, NodeWithScore, QueryBundle

from ragkit import ConfigError, CrossEncoderReranker
from ragkit.rerank.cross_encoder import DEFAULT_RERANKER
from ragkit.types import Precision

__all__ = ["RETRIEVAL_SCORE_KEY", "RagkitRerank", "node_text"]

dispatcher = get_dispatcher(__name__)

RETRIEVAL_SCORE_KEY = "retrieval_score"
"""Metadata key of the score a node had before reranking (``keep_retrieval_score=True``)."""


class RagkitRerank(BaseNodePostprocessor):
    """Rerank nodes with a local ONNX cross-encoder (ragkit's ``CrossEncoderReranker``).

    Each node's score becomes the cross-encoder's probability that it answers the query (in
    [0, 1], the same value ``CrossEncoderReranker.score`` gives); nodes come back best first,
    ties in their incoming order, at most ``top_n`` of them. Nodes with no text of their own
    (an image node, an empty or whitespace-only text) score 0.0 without running the model and
    rank last, as in ragkit. The text scored is ``node.get_content(metadata_mode)``: by
    default the embedding view (text plus the metadata not excluded from embeddings), as
    LlamaIndex's other rerankers do.

    Every call emits LlamaIndex's ``ReRankStartEvent``/``ReRankEndEvent`` through the
    instrumentation dispatcher and a ``CBEventType.RERANKING`` callback event.

    Args:
        model: A catalogue id (``"cross-encoder/ms-marco-MiniLM-L-6-v2"``,
            ``"BAAI/bge-reranker-base"``...) or a local cross-encoder folder.
        top_n: Most nodes returned (``None``: all of them, reordered).
        precision: ``"fp32"`` or ``"int8"`` (the repo's quantized file, or one built and cached).
        keep_retrieval_score: Keep each node's incoming score in
            ``metadata["retrieval_score"]`` (kept out of the embedding and LLM views). The
            returned nodes are then copies; the incoming ones are left unchanged.
        metadata_mode: Which view of a node is scored (``MetadataMode.NONE``: the text alone).
        reranker: An existing ``CrossEncoderReranker`` to use instead of building one; then
            leave ``model``, ``precision`` and ``options`` unset.
        callback_manager: LlamaIndex callbacks.
        **options: Other ``CrossEncoderReranker`` options: ``batch_size``,
            ``max_batch_tokens``, ``max_length``, ``max_query_tokens``, ``threads``,
            ``providers``, ``cuda``, ``cache_dir``, ``offline``, ``lazy_load``...

    Raises:
        ConfigError: Model arguments together with ``reranker``, or bad options.
        ModelNotFoundError: Unknown reranker id.

    Usage::

        rerank = RagkitRerank("cross-encoder/ms-marco-MiniLM-L-6-v2", top_n=3, precision="int8")
        engine = index.as_query_engine(similarity_top_k=20, node_postprocessors=[rerank])
    """

    model: str = Field(
        default=DEFAULT_RERANKER,
        description="Catalogue id or local folder of the ragkit cross-encoder.",
    )
    top_n: int | None = Field(
        default=5, ge=1, description="Most nodes returned, best first (None: all)."
    )
    precision: Precision = Field(default="fp32", description='"fp32" or "int8" weights.')
    keep_retrieval_score: bool = Field(
        default=False,
        description='Keep the incoming score in metadata["retrieval_score"].',
    )
    metadata_mode: MetadataMode = Field(
        default=MetadataMode.EMBED, description="Which view of each node is scored."
    )

    _reranker: CrossEncoderReranker = PrivateAttr()

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        top_n: int | None = 5,
        precision: Precision = "fp32",
        keep_retrieval_score: bool = False,
        metadata_mode: MetadataMode = MetadataMode.EMBED,
        reranker: CrossEncoderReranker | None = None,
        callback_manager: CallbackManager | None = None,
        **options: Any,
    ) -> None:
        if reranker is not None:
            given = ["model"] if model is not None else []
            given += ["precision"] if precision != "fp32" else []
            given += sorted(options)
            if given:
                raise ConfigError(
                    f"RagkitRerank(reranker=...) takes its model from the reranker; "
                    f"{', '.join(given)} cannot be set as well."
                )
            model, precision = reranker.spec.model_id, reranker.precision
        else:
            model = str(model) if model is not None else DEFAULT_RERANKER
            reranker = CrossEncoderReranker(model, precision=precision, **options)
        fields: dict[str, Any] = {
            "model": str(model),
            "top_n": top_n,
            "precision": precision,
            "keep_retrieval_score": keep_retrieval_score,
            "metadata_mode": metadata_mode,
        }
        if callback_manager is not None:
            fields["callback_manager"] = callback_manager
        super().__init__(**fields)
        self._reranker = reranker

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "RagkitRerank"

    @property
    def reranker(self) -> CrossEncoderReranker:
        """The ragkit cross-encoder doing the work."""
        return self._reranker

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        """The nodes best first by cross-encoder probability, at most ``top_n``.

        Raises:
            ValueError: No query (``query_bundle`` is None).
            InputError: An empty query.
        """
        if query_bundle is None:
            raise ValueError("RagkitRerank needs the query: pass query_bundle or query_str.")
        top_n = self.top_n if self.top_n is not None else len(nodes)
        dispatcher.event(
            ReRankStartEvent(query=query_bundle, nodes=nodes, top_n=top_n, model_name=self.model)
        )
        with self.callback_manager.event(
            CBEventType.RERANKING,
            payload={
                EventPayload.NODES: nodes,
                EventPayload.MODEL_NAME: self.model,
                EventPayload.QUERY_STR: query_bundle.query_str,
                EventPayload.TOP_K: top_n,
            },
        ) as event:
            texts = [node_text(n.node, self.metadata_mode) for n in nodes]
            ranked = (
                self._reranker.rank(query_bundle.query_str, texts, top_k=self.top_n)
                if nodes
                else []
            )
            reranked = [self._scored(nodes[i], score) for i, score in ranked]
            event.on_end(payload={EventPayload.NODES: reranked})
        dispatcher.event(ReRankEndEvent(nodes=reranked))
        return reranked

    def _scored(self, hit: NodeWithScore, score: float) -> NodeWithScore:
        if not self.keep_retrieval_score:
            return NodeWithScore(node=hit.node, score=score)
        node = hit.node.model_copy()
        node.metadata = {**node.metadata, RETRIEVAL_SCORE_KEY: hit.score}
        node.excluded_embed_metadata_keys = _with_key(node.excluded_embed_metadata_keys)
        node.excluded_llm_metadata_keys = _with_key(node.excluded_llm_metadata_keys)
        return NodeWithScore(node=node, score=score)


def _with_key(keys: list[str]) -> list[str]:
    return keys if RETRIEVAL_SCORE_KEY in keys else [*keys, RETRIEVAL_SCORE_KEY]


def node_text(node: BaseNode, metadata_mode: MetadataMode = MetadataMode.EMBED) -> str | None:
    """The text the cross-encoder reads for ``node``, or None when it has no text of its own.

    None (an image node, or a blank text) scores 0.0 in ragkit without running the model.
    """
    if not node.get_content(metadata_mode=MetadataMode.NONE).strip():
        return None
    return node.get_content(metadata_mode=metadata_mode)
