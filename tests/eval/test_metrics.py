from __future__ import annotations

import math
import random

import pytest

from ragkit.errors import ConfigError, InputError
from ragkit.eval import evaluate, ndcg_at_k, recall_at_k

LOG2_3 = math.log2(3)  # discount at rank 2
LOG2_4 = 2.0  # discount at rank 3


def test_graded_ndcg_by_hand() -> None:
    qrels = {"q": {"a": 2, "b": 1, "c": 0, "d": 3}}
    run = {"q": {"a": 0.9, "x": 0.8, "b": 0.7, "c": 0.6}}
    # ranked a(2), x(0), b(1), c(0): DCG = 2/1 + 0 + 1/log2(4) = 2.5
    # ideal d(3), a(2), b(1): IDCG = 3/1 + 2/log2(3) + 1/log2(4)
    idcg = 3 + 2 / LOG2_3 + 1 / LOG2_4
    assert ndcg_at_k(run, qrels, 10) == pytest.approx(2.5 / idcg, abs=1e-12)
    # recall: relevant (grade > 0) are a, b, d; a and b retrieved -> 2/3
    assert recall_at_k(run, qrels, 10) == pytest.approx(2 / 3, abs=1e-12)


def test_k_smaller_than_relevant_count() -> None:
    qrels = {"q": {"a": 1, "b": 1, "c": 1}}
    run = {"q": {"z": 0.9, "a": 0.5, "b": 0.4, "c": 0.3}}
    # top-2 is z(0), a(1): DCG = 1/log2(3); ideal cut at 2: IDCG = 1 + 1/log2(3)
    assert ndcg_at_k(run, qrels, 2) == pytest.approx((1 / LOG2_3) / (1 + 1 / LOG2_3), abs=1e-12)
    # one of three relevant docs in the top 2
    assert recall_at_k(run, qrels, 2) == pytest.approx(1 / 3, abs=1e-12)
    # top-1 is z only
    assert ndcg_at_k(run, qrels, 1) == 0.0


def test_query_without_hits_or_results_scores_zero() -> None:
    qrels = {"hit": {"a": 1}, "miss": {"b": 1}, "absent": {"c": 1}, "no_relevant": {"d": 0}}
    run = {"hit": {"a": 1.0}, "miss": {"x": 1.0}, "no_relevant": {"d": 1.0}, "extra": {"a": 1.0}}
    # hit scores 1; miss, absent (no results) and no_relevant score 0; extra is not judged.
    # mean over the 4 judged queries = 1/4
    scores = evaluate(run, qrels, ks=(10,))
    assert scores == {"ndcg@10": 0.25, "recall@10": 0.25, "mrr@10": 0.25}


def test_ties_rank_higher_doc_id_first() -> None:
    # trec_eval orders equal scores by doc id descending: c, b, a
    qrels = {"q": {"a": 1}}
    run = {"q": {"a": 0.5, "b": 0.5, "c": 0.5}}
    # a is third: NDCG = (1/log2(4)) / 1 = 0.5, MRR = 1/3
    assert ndcg_at_k(run, qrels, 10) == 0.5
    assert evaluate(run, qrels, ks=(10,))["mrr@10"] == pytest.approx(1 / 3)
    # with k = 2 the tie cut leaves a out
    assert recall_at_k(run, qrels, 2) == 0.0
    # ids compare as strings, not numbers: "9" > "10"
    assert ndcg_at_k({"q": {"10": 1.0, "9": 1.0}}, {"q": {"9": 1}}, 1) == 1.0


def test_negative_grades_count_as_zero() -> None:
    qrels = {"q": {"bad": -1, "good": 2}}
    run = {"q": {"bad": 0.9, "good": 0.8}}
    # DCG = 0 + 2/log2(3); IDCG = 2/1
    assert ndcg_at_k(run, qrels, 10) == pytest.approx(1 / LOG2_3, abs=1e-12)


def test_evaluate_keys_and_errors() -> None:
    scores = evaluate({"q": {"a": 1.0}}, {"q": {"a": 1}}, ks=(100, 10, 10))
    assert list(scores) == ["ndcg@10", "ndcg@100", "recall@10", "recall@100", "mrr@10", "mrr@100"]
    with pytest.raises(ConfigError):
        evaluate({}, {"q": {"a": 1}}, ks=(0,))
    with pytest.raises(ConfigError):
        evaluate({}, {"q": {"a": 1}}, ks=())
    with pytest.raises(InputError):
        evaluate({}, {}, ks=(10,))


def _random_case(seed: int) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(300)] + [str(i) for i in range(100)]
    run: dict[str, dict[str, float]] = {}
    qrels: dict[str, dict[str, int]] = {}
    for q in range(400):
        qid = str(q)
        judged = rng.sample(docs, rng.randint(1, 30))
        qrels[qid] = {d: rng.choice([-1, 0, 0, 1, 1, 2, 3]) for d in judged}
        retrieved = rng.sample(docs, rng.randint(0, 150)) + judged[: rng.randint(0, len(judged))]
        # coarse scores make many ties, including across the cut-offs
        run[qid] = {d: rng.randint(0, 20) / 4 for d in retrieved}
    return run, qrels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pytrec_eval(seed: int) -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval")
    run, qrels = _random_case(seed)
    measures = {"ndcg_cut_10", "ndcg_cut_100", "recall_10", "recall_100"}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    assert len(per_query) == len(qrels)
    ours = evaluate(run, qrels, ks=(10, 100))
    for k in (10, 100):
        for ours_name, theirs_name in (
            (f"ndcg@{k}", f"ndcg_cut_{k}"),
            (f"recall@{k}", f"recall_{k}"),
        ):
            expected = sum(scores[theirs_name] for scores in per_query.values()) / len(per_query)
            assert ours[ours_name] == pytest.approx(expected, abs=1e-9)
    # MRR@10 is trec_eval's recip_rank on each query's top 10
    top10 = {
        q: dict(sorted(docs.items(), key=lambda item: (item[1], item[0]), reverse=True)[:10])
        for q, docs in run.items()
    }
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    expected = sum(scores["recip_rank"] for scores in per_query.values()) / len(per_query)
    assert ours["mrr@10"] == pytest.approx(expected, abs=1e-9)
