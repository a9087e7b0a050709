"""Built-in catalogue entries. Facts come from each model's hub repo and model card.

How the entries were chosen:

- ``repo_id`` is the official repo when it publishes ``onnx/model.onnx``; otherwise a well-known
  ONNX mirror (``Xenova/<name>``) and ``model_id`` stays the canonical id.
- ``revision`` is a commit hash at which the listed files were seen on the hub (tree or blob
  pages), so the files and their checksums cannot drift; ``"main"`` only where no hash was found.
- ``int8`` names a published dynamic-int8 file that runs on any CPU: ``model_quantized.onnx`` or
  ``model_int8.onnx`` (Transformers.js exports), or ``model_quint8_avx2.onnx`` (u8 weights, no
  VPMADDUBSW saturation) on sentence-transformers exports. A repo whose only int8 file is
  ``model_qint8_avx512_vnni.onnx`` (full-range s8 weights, tuned for VNNI) gets no int8 entry:
  ragkit builds one locally from fp32 instead.
- ``sha256`` holds the LFS sha256 shown on the hub for that file at that revision; files whose
  checksum was not seen are still checked against the hub's own ``X-Linked-Etag`` when downloaded.
- Prompts are copied from ``config_sentence_transformers.json``, the model card, or the MTEB
  model registry (``embeddings-benchmark/mteb`` ``mteb/models/*.py``), which evaluates with them.
- SciFact figures in descriptions are MTEB nDCG@10 from ``embeddings-benchmark/results``.

Rerankers (:class:`RerankerSpec`) follow the same rules. The sentence-transformers cross-encoder
repos were renamed (``ms-marco-MiniLM-L-6-v2`` -> ``ms-marco-MiniLM-L6-v2``; the hub redirects the
old ids), so ``repo_id`` holds the current name and ``model_id`` the name users know. Their
``onnx/`` folders hold the sentence-transformers exports (``model.onnx``,
``model_quint8_avx2.onnx``, ``model_qint8_*``, ``model_O1..O4``).
"""

from __future__ import annotations

from ragkit.catalog import ModelSpec, RerankerSpec

__all__ = ["BUILTIN_MODELS", "BUILTIN_RERANKERS"]

# BGE v1.5, Snowflake arctic-embed v1/v1.5 and mxbai-embed-large-v1 share this query instruction;
# documents get no prompt.
RETRIEVAL_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "
E5_QUERY_PROMPT = "query: "
E5_PASSAGE_PROMPT = "passage: "

BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        model_id="sentence-transformers/all-MiniLM-L6-v2",
        dim=384,
        pooling="mean",
        max_tokens=256,  # sentence_bert_config.json max_seq_length
        # Commit "Add exported openvino model ... (#87)"; onnx/ holds the ST exports of #83.
        revision="fa97f6e7cb1a59073dff9e6b13e2715cf7475ac9",
        onnx_files={"fp32": "onnx/model.onnx", "int8": "onnx/model_quint8_avx2.onnx"},
        license="apache-2.0",
        description="Small, fast English model, 256-token window; no prompts. SciFact 0.645.",
        sha256={
            "onnx/model.onnx": "6fd5d72fe4589f189f8ebc006442dbb529bb7ce38f8082112682524616046452",
            "onnx/model_quint8_avx2.onnx": (
                "b941bf19f1f1283680f449fa6a7336bb5600bdcd5f84d10ddc5cd72218a0fd21"
            ),
        },
    ),
    ModelSpec(
        model_id="BAAI/bge-small-en-v1.5",
        dim=384,
        pooling="cls",
        max_tokens=512,
        # "onnx support (#9)"; also the revision MTEB evaluates. onnx/ has fp32 only.
        revision="5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
        onnx_files={"fp32": "onnx/model.onnx"},
        query_prompt=RETRIEVAL_QUERY_INSTRUCTION,
        license="mit",
        description="Small English retrieval model; query instruction, CLS pooling. SciFact 0.713.",
        sha256={
            "onnx/model.onnx": "828e1496d7fabb79cfa4dcd84fa38625c0d3d21da474a00f08db0f559940cf35",
        },
    ),
    ModelSpec(
        model_id="BAAI/bge-base-en-v1.5",
        dim=768,
        pooling="cls",
        max_tokens=512,
        # "Onnx Support (#6)"; also the revision MTEB evaluates. onnx/ has fp32 only.
        revision="a5beb1e3e68b9ab74eb54cfd186867f64f240e1a",
        onnx_files={"fp32": "onnx/model.onnx"},
        query_prompt=RETRIEVAL_QUERY_INSTRUCTION,
        license="mit",
        description="Base-size English retrieval model; query instruction, CLS pooling.",
        sha256={
            # Seen on the blob page of PR #6's head, which #6 merged unchanged.
            "onnx/model.onnx": "9bc579acdba21c253c62a9bf866891355a63ffa3442b52c8a37d75b2ccb91848",
        },
    ),
    ModelSpec(
        model_id="intfloat/e5-small-v2",
        dim=384,
        pooling="mean",
        max_tokens=512,
        # The official repo keeps its fp32 ONNX at the root and only VNNI/O4 variants in onnx/,
        # so the Transformers.js mirror is used.
        repo_id="Xenova/e5-small-v2",
        revision="main",  # unverified: no commit hash of Xenova/e5-small-v2 was found
        onnx_files={"fp32": "onnx/model.onnx", "int8": "onnx/model_quantized.onnx"},
        query_prompt=E5_QUERY_PROMPT,
        document_prompt=E5_PASSAGE_PROMPT,
        license="mit",
        description="Small English E5; needs 'query: ' / 'passage: ' prefixes. SciFact 0.689.",
    ),
    ModelSpec(
        model_id="intfloat/e5-base-v2",
        dim=768,
        pooling="mean",
        max_tokens=512,
        # "Adding ONNX file of this model (#11)"; also the revision MTEB evaluates. The VNNI-only
        # int8 file came later (#12), so int8 is built locally.
        revision="1c644c92ad3ba1efdad3f1451a637716616a20e8",
        onnx_files={"fp32": "onnx/model.onnx"},
        query_prompt=E5_QUERY_PROMPT,
        document_prompt=E5_PASSAGE_PROMPT,
        license="mit",
        description="Base-size English E5; needs 'query: ' / 'passage: ' prefixes. SciFact 0.719.",
        sha256={
            "onnx/model.onnx": "157f97ef1957d34f52efa26f8031371bf9043acc45460cec7ebe94631ac0e96b",
        },
    ),
    ModelSpec(
        model_id="intfloat/multilingual-e5-small",
        dim=384,
        pooling="mean",
        max_tokens=512,
        # "Adding ONNX file of this model (#4)". The VNNI-only int8 file came later (#12).
        # unverified: root tokenizer.json at this commit not seen (onnx/ has its own copy)
        revision="ffdcc22a9a5c973ef0470385cef91e1ecb461d9f",
        onnx_files={"fp32": "onnx/model.onnx"},
        query_prompt=E5_QUERY_PROMPT,
        document_prompt=E5_PASSAGE_PROMPT,
        license="mit",
        description="Small multilingual E5 (~100 languages); 'query: ' / 'passage: ' prefixes.",
        sha256={
            "onnx/model.onnx": "ca456c06b3a9505ddfd9131408916dd79290368331e7d76bb621f1cba6bc8665",
        },
    ),
    ModelSpec(
        model_id="thenlper/gte-small",
        dim=384,
        pooling="mean",
        max_tokens=512,
        # Commit "Add exported onnx model 'model_qint8_avx512_vnni.onnx' (#12)", after the fp32
        # export (#11). Only a VNNI-tuned int8 file is published, so int8 is built locally.
        revision="dbfc33ed0bfb9af5afe56aafb5c8e94f881b673b",
        onnx_files={"fp32": "onnx/model.onnx"},
        license="mit",
        description="Small English GTE; no prompts. SciFact 0.727.",
    ),
    ModelSpec(
        model_id="nomic-ai/nomic-embed-text-v1.5",
        dim=768,
        pooling="mean",
        # The trained window (sentence-transformers max_seq_length); a full 8192-token batch
        # needs several GB of activations, so lower it for bulk indexing on small machines.
        max_tokens=8192,
        # onnx/ at this commit holds the "Upload ONNX weights (#3)" files.
        revision="5c1a91b67aaf7fcf6162a7db0703dd46fb7294d0",
        onnx_files={"fp32": "onnx/model.onnx", "int8": "onnx/model_quantized.onnx"},
        query_prompt="search_query: ",
        document_prompt="search_document: ",
        task_prompts={"clustering": "clustering: ", "classification": "classification: "},
        matryoshka_dims=(768, 512, 256, 128, 64),
        layer_norm_before_truncate=True,
        license="apache-2.0",
        description=(
            "English, 8192-token window, Matryoshka 768-64; needs search_query:/search_document: "
            "prefixes. SciFact 0.703."
        ),
        sha256={
            "onnx/model_quantized.onnx": (
                "5b395d5f27056e5fb64516a8256533bd52384b5a766c426a750b3d64375f1a41"
            ),
        },
    ),
    ModelSpec(
        model_id="Snowflake/snowflake-arctic-embed-xs",
        dim=384,
        pooling="cls",
        max_tokens=512,
        # onnx/ at this commit holds the "Upload ONNX weights (#6)" files.
        revision="d8c86521100d3556476a063fc2342036d45c106f",
        onnx_files={"fp32": "onnx/model.onnx", "int8": "onnx/model_int8.onnx"},
        query_prompt=RETRIEVAL_QUERY_INSTRUCTION,
        license="apache-2.0",
        description="Extra-small English arctic-embed v1; query instruction. SciFact 0.645.",
        sha256={
            "onnx/model_int8.onnx": (
                "e6aa5e656466a73d7c3111e9a3378bd13e5b93af30eaac2b3f13fd56692589a1"
            ),
        },
    ),
    ModelSpec(
        model_id="Snowflake/snowflake-arctic-embed-s",
        dim=384,
        pooling="cls",
        max_tokens=512,
        # The revision MTEB evaluates; onnx/ holds the "Upload ONNX weights (#4)" files.
        revision="d3c1d2d433dd0fdc8e9ca01331a5f225639e798f",
        onnx_files={"fp32": "onnx/model.onnx", "int8": "onnx/model_quantized.onnx"},
        query_prompt=RETRIEVAL_QUERY_INSTRUCTION,
        license="apache-2.0",
        description="Small English arctic-embed v1; query instruction. SciFact 0.699.",
        sha256={
            # Seen at commit 3146963; both commits carry the file as uploaded by #4.
            "onnx/model_quantized.onnx": (
                "f93ff225320628d2e88baf2a395cae791b0e3b27edf5c70bf7b312a4d3260c14"
            ),
        },
    ),
    ModelSpec(
        model_id="Snowflake/snowflake-arctic-embed-m-v1.5",
        dim=768,
        pooling="cls",
        max_tokens=512,
        # onnx/ at this commit holds the "Upload ONNX weights (#1)" files.
        revision="e4dbe50791e820f8d31fe654039aaacaaea3af62",
        onnx_files={"fp32": "onnx/model.onnx", "int8": "onnx/model_quantized.onnx"},
        query_prompt=RETRIEVAL_QUERY_INSTRUCTION,
        matryoshka_dims=(768, 256),
        license="apache-2.0",
        description=(
            "Medium English arctic-embed v1.5, Matryoshka to 256; query instruction. SciFact 0.718."
        ),
        sha256={
            "onnx/model_quantized.onnx": (
                "a18f437b2466863901a0bdc14904cf93246f5ecce0b656fc773bc2b7b2f84f6e"
            ),
        },
    ),
    ModelSpec(
        model_id="mixedbread-ai/mxbai-embed-large-v1",
        dim=1024,
        pooling="cls",
        max_tokens=512,
        # Commit "Update config_sentence_transformers.json" that sets prompts query/passage; onnx/
        # holds the #2 export (fp32 is 1.34 GB, one file, no external data).
        revision="5ddaccf5d8d49509427512e415ea7184174d0789",
        onnx_files={"fp32": "onnx/model.onnx", "int8": "onnx/model_quantized.onnx"},
        query_prompt=RETRIEVAL_QUERY_INSTRUCTION,
        # Its modules.json has no Normalize layer; it is a cosine model, so ragkit L2-normalises.
        normalize=True,
        # unverified: the card and blog show MRL at 1024 and 512 only; smaller dims not confirmed
        matryoshka_dims=(1024, 512),
        license="apache-2.0",
        description=(
            "Large English model (335M), MRL and binary friendly; query instruction. SciFact 0.739."
        ),
        sha256={
            "onnx/model_quantized.onnx": (
                "11bda26d2ee754b20d46c90d0fae7eb5a71e0f947e74261afd6ad640ebbcfa7f"
            ),
        },
    ),
)

# ST cross-encoder exports: fp32 plus the u8-weight int8 file that runs on any AVX2 CPU.
_ST_CROSS_ENCODER_FILES = {"fp32": "onnx/model.onnx", "int8": "onnx/model_quint8_avx2.onnx"}

BUILTIN_RERANKERS: tuple[RerankerSpec, ...] = (
    RerankerSpec(
        model_id="cross-encoder/ms-marco-MiniLM-L-6-v2",
        max_tokens=512,
        repo_id="cross-encoder/ms-marco-MiniLM-L6-v2",
        revision="main",  # unverified: no commit hash seen; onnx/ listing assumed as its L2/L4 siblings
        onnx_files=_ST_CROSS_ENCODER_FILES,
        license="apache-2.0",
        description="MS MARCO cross-encoder, 6 layers (22M); the usual default reranker.",
    ),
    RerankerSpec(
        model_id="cross-encoder/ms-marco-MiniLM-L-12-v2",
        max_tokens=512,  # tokenizer_config model_max_length; BertForSequenceClassification, 1 label
        repo_id="cross-encoder/ms-marco-MiniLM-L12-v2",
        revision="main",  # unverified: no commit hash seen; onnx/ listing assumed as its siblings
        onnx_files=_ST_CROSS_ENCODER_FILES,
        license="apache-2.0",
        description="MS MARCO cross-encoder, 12 layers (33M); slower, slightly better than L-6.",
    ),
    RerankerSpec(
        model_id="cross-encoder/ms-marco-TinyBERT-L-2-v2",
        max_tokens=512,
        # Renamed ms-marco-TinyBERT-L2; its onnx/ lists model.onnx (17.6 MB) and
        # model_quint8_avx2.onnx (4.5 MB) at 6c0a596 (short hash only: revision stays main).
        repo_id="cross-encoder/ms-marco-TinyBERT-L2",
        revision="main",
        onnx_files=_ST_CROSS_ENCODER_FILES,
        license="apache-2.0",
        description="MS MARCO TinyBERT, 2 layers (4M): fastest, lowest quality (FlashRank's default).",
    ),
    RerankerSpec(
        model_id="BAAI/bge-reranker-base",
        max_tokens=512,
        # "add onnx files and readme for usage with onnx (#14)": onnx/model.onnx (1.11 GB fp32,
        # one file). XLM-RoBERTa: no token_type_ids input. int8 is built locally.
        revision="580465186bcc87f862a9b2f9003d720af2377980",
        onnx_files={"fp32": "onnx/model.onnx"},
        license="mit",
        description="English/Chinese XLM-R cross-encoder (278M); 512 tokens.",
    ),
    RerankerSpec(
        model_id="BAAI/bge-reranker-v2-m3",
        # Trained on inputs up to 8192 tokens; 1024 keeps one CPU batch of 100 pairs practical.
        max_tokens=1024,
        trained_max_tokens=8192,
        # BAAI publishes no ONNX for it; this CPU export (O3-optimised, external weights in
        # model.onnx.data) was seen at c46cc14 (short hash only).
        repo_id="EmbeddedLLM/bge-reranker-v2-m3-onnx-o3-cpu",  # unverified: mirror not checked against the weights
        revision="main",
        onnx_files={"fp32": "model.onnx"},
        onnx_data_files={"fp32": ("model.onnx.data",)},
        license="apache-2.0",
        description="Multilingual XLM-R cross-encoder (568M, bge-m3 based); 1024 tokens by default.",
    ),
    RerankerSpec(
        model_id="jinaai/jina-reranker-v1-tiny-en",
        # ALiBi positions: trained for 8192 tokens; 1024 by default for CPU latency.
        max_tokens=1024,
        trained_max_tokens=8192,
        # "Upload more ONNX weights (#5)": onnx/model.onnx (132 MB) and model_quantized.onnx.
        revision="9c054fe228e2097efbe5744d807bdc4aec8915b4",
        onnx_files={"fp32": "onnx/model.onnx", "int8": "onnx/model_quantized.onnx"},
        license="apache-2.0",
        description="English JinaBERT cross-encoder, 4 layers (33M), ALiBi; 1024 tokens by default.",
    ),
)
