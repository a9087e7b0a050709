"""The LLM reranker's pure parts: permutation parsing, windows, truncation, prompts."""

from __future__ import annotations

import logging

import pytest

from ragkit.rerank._llm_prompt import (
    chars_per_token_count,
    messages,
    parse_permutation,
    truncate,
    window_spans,
)
from tests.rerank.fake_chat_server import rank_answer


def test_a_clean_rankgpt_answer_is_read_as_zero_based_positions() -> None:
    assert parse_permutation("[3] > [1] > [2]", 3) == [2, 0, 1]


@pytest.mark.parametrize(
    "answer",
    [
        "(3) > (1) > (2)",
        "{3}, {1}, {2}",
        "【3】>【1】>【2】",
        "<3> <1> <2>",
        "[ 3 ] > [ 1 ] > [ 2 ]",
        "Passage 3 > Passage 1 > Passage 2",
        "3, 1, 2",
    ],
)
def test_identifiers_are_read_in_any_bracket_or_as_bare_numbers(answer: str) -> None:
    assert parse_permutation(answer, 3) == [2, 0, 1]


def test_bracketed_identifiers_win_over_numbers_in_the_surrounding_prose() -> None:
    answer = "Here is the ranking of the 4 passages, top 2 first: [2] > [4] > [1] > [3]"
    assert parse_permutation(answer, 4) == [1, 3, 0, 2]


def test_a_duplicated_identifier_keeps_its_first_place() -> None:
    assert parse_permutation("[2] > [1] > [2] > [3] > [1]", 3) == [1, 0, 2]


def test_invented_and_out_of_range_identifiers_are_dropped() -> None:
    assert parse_permutation("[0] > [7] > [2] > [99] > [1] > [3]", 3) == [1, 0, 2]


def test_missing_identifiers_follow_in_their_original_order() -> None:
    assert parse_permutation("[4] > [2]", 5) == [3, 1, 0, 2, 4]


def test_an_unparseable_answer_keeps_the_original_order_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="ragkit"):
        assert parse_permutation("I cannot rank these passages.", 3) == [0, 1, 2]
    assert "no ranking" in caplog.text


def test_an_answer_with_only_invalid_identifiers_counts_as_unparseable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="ragkit"):
        assert parse_permutation("[8] > [9]", 2) == [0, 1]
    assert "no ranking" in caplog.text


def test_a_reasoning_models_think_block_is_ignored() -> None:
    answer = "<think>Passage [1] mentions it once, [3] twice.</think>\n[3] > [2] > [1]"
    assert parse_permutation(answer, 3) == [2, 1, 0]
    assert parse_permutation("passage [1] is weak...</think> [2] > [1]", 2) == [1, 0]
    assert parse_permutation("[2] > [1] <think>unfinished [1] > [2]", 2) == [1, 0]


def test_a_list_within_the_window_is_ranked_in_one_span() -> None:
    assert window_spans(20, 20, 10) == [(0, 20)]
    assert window_spans(3, 20, 10) == [(0, 3)]


def test_windows_slide_from_the_back_to_the_front_and_the_last_starts_at_zero() -> None:
    assert window_spans(100, 20, 10) == [(80 - 10 * i, 100 - 10 * i) for i in range(9)]
    assert window_spans(25, 20, 10) == [(5, 25), (0, 15)]  # RankGPT's loop would skip 0..5


def test_every_item_is_inside_some_window_and_windows_overlap() -> None:
    for n in range(21, 60):
        spans = window_spans(n, 20, 7)
        assert {i for start, end in spans for i in range(start, end)} == set(range(n))
        assert all(b[1] > a[0] for a, b in zip(spans, spans[1:], strict=False))  # they overlap


def test_truncate_keeps_a_fitting_text_and_cuts_a_long_one_within_budget_at_a_word() -> None:
    assert truncate("short text", 10, chars_per_token_count) == "short text"
    long = "word " * 200
    cut = truncate(long, 10, chars_per_token_count)
    assert chars_per_token_count(cut) <= 10 and long.startswith(cut)
    assert not cut.endswith("wor") and cut.endswith("word")


def test_truncate_follows_the_given_token_counter() -> None:
    def words(text: str) -> int:
        return len(text.split())

    assert truncate("a b c d e f g", 3, words) == "a b c"


def test_the_prompt_numbers_passages_from_one_and_names_the_query() -> None:
    chat = messages("rivers", ["first  passage\nwith lines", "second"])
    assert [m["role"] for m in chat] == ["system", "user"]
    prompt = chat[-1]["content"]
    assert "[1] first passage with lines\n[2] second" in prompt
    assert "Search query: rivers" in prompt and "[2] > [1]" in prompt
    assert parse_permutation(rank_answer(prompt), 2) == [0, 1]  # the fake server reads it back
