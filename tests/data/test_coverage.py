"""The rule for which request tokens a call took, and the request_cover it gives training."""

from helpers.fc_records import parallel_record

from fc_finetune.data.collate import encode_record
from fc_finetune.data.contract import IGNORE, NOT_COVERED
from fc_finetune.data.coverage import first_covering_call, leading_word, token_words, value_words, words
from fc_finetune.data.render import render_record
from fc_finetune.data.templates import prepare_tokenizer
from fc_finetune.testing import tiny_tokenizer


def test_a_token_is_taken_by_the_first_call_with_one_of_its_words_among_the_values():
    calls = [value_words({"artist": "Taylor Swift", "minutes": 20, "tags": ["pop"]}),
             value_words({"artist": "Maroon 5", "minutes": 15.5, "opts": {"loud": True}})]
    assert calls[0] == {"taylor", "swift", "20", "pop"} and calls[1] == {"maroon", "5", "15", "true"}
    text = "Play Taylor Swift and Maroon 5, for 20 and 15 minutes; artist?"
    pieces = ["Play", " Taylor", " and", " Mar", "oon", " 5", ",", " 15", " minutes", " artist"]
    spans = [(text.index(p), text.index(p) + len(p)) for p in pieces]
    tokens = token_words(text, spans)
    assert tokens[3] == tokens[4] == frozenset({"maroon"})  # a fragment is part of its word
    assert first_covering_call(tokens, calls) == [NOT_COVERED, 0, NOT_COVERED, 1, 1, 1, NOT_COVERED, 1,
                                                  NOT_COVERED, NOT_COVERED]  # keys ("artist") take nothing
    assert first_covering_call(tokens[:2], []) == [NOT_COVERED, NOT_COVERED]


def test_leading_word_is_the_word_a_text_begins_with_after_spaces():
    assert leading_word(" Maroon 5\"}") == "Maroon" and leading_word("5.6, ") == "5"
    assert leading_word('", "x"') is None and leading_word("") is None and leading_word("_a") is None


def test_request_cover_points_each_request_token_at_the_call_that_takes_it():
    tok = tiny_tokenizer()
    prepare_tokenizer(tok)
    record = parallel_record()  # "Weather in Paris and Rome, in celsius?": Paris, then Rome, both celsius
    enc = encode_record(render_record(record, tok), tok)
    cover = enc["request_cover"]
    start, end = enc["decision_request"][0]
    assert all(c == IGNORE for i, c in enumerate(cover) if not start <= i < end)  # only the request's tokens
    request = record["messages"][1]["content"]
    by_char = {}
    pos = 0
    for i in range(start, end):
        piece = tok.decode([enc["input_ids"][i]])
        at = request.index(piece, pos)
        by_char.update({at + k: cover[i] for k in range(len(piece))})
        pos = at + len(piece)
    for word, call in (("Paris", 0), ("Rome", 1), ("celsius", 0), ("Weather", NOT_COVERED), ("and", NOT_COVERED)):
        at = request.index(word)
        assert {by_char[k] for k in range(at, at + len(word))} == {call}, word


def test_a_number_with_thousands_separators_is_one_word_the_value_takes():
    assert value_words({"loan_amount": 400000}) == {"400000"}
    request = "A loan of $400,000 at 4%, and 1,5 and 10 years; 1,234.5 m"
    found = token_words(request, [(request.index("400"), request.index("400") + 3),
                                  (request.index("000"), request.index("000") + 3)])
    assert found == [frozenset({"400000"})] * 2  # both tokens of "400,000" are the value's word
    assert first_covering_call(found, [value_words({"loan_amount": 400000})]) == [0, 0]
    assert first_covering_call(found, [value_words({"loan_amount": 400})]) == [NOT_COVERED] * 2
    # "1,5" is two numbers (not three digits after the comma); "1,234.5" is 1234 and 5, as 1234.5 is
    assert words("1,5 and 10") == {"1", "5", "and", "10"} and words("1,234.5") == value_words(1234.5)
    assert leading_word("250,000 dollars") == "250000"
