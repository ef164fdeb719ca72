"""The echo detector: our own texts coming back are recognised, customers' texts are not.

`EchoDetector` scores only own texts of comparable length first; these tests pin the
behaviour of scoring the whole corpus and keeping the 3 closest, which it must preserve.
"""

from __future__ import annotations

from bots.guards import EchoDetector

OWN = "please send the invoice again tomorow"  # a typo: scores 98.7, not 100
QUERY = "please send the invoice again tomorrow"


def longer(i: int) -> str:
    """An own text containing every word of QUERY (token_set_ratio 100) but far longer."""
    return f"we can {QUERY} if you write to us here in this chat and wait number {i}"


def test_own_text_of_comparable_length_is_an_echo():
    echo = EchoDetector([OWN, "something else entirely different here"], threshold=88)
    assert 98 < echo.match(QUERY) < 99
    assert echo.match("Please send the invoice, again: tomorrow!") > 98  # folded


def test_short_messages_and_other_texts_are_not_echoes():
    echo = EchoDetector([OWN], threshold=88)
    assert echo.match("send the invoice") == 0.0  # under four words
    assert echo.match("where is my parcel from last week") == 0.0


def test_much_longer_or_shorter_texts_do_not_count():
    echo = EchoDetector([longer(1)], threshold=88)
    assert echo.match(QUERY) == 0.0  # a customer quoting part of our text
    assert echo.match(f"{longer(1)} {longer(2)} {longer(3)}") == 0.0


def test_only_the_three_closest_own_texts_are_checked_for_length():
    # Two better-scoring texts of other lengths leave room for the comparable one ...
    echo = EchoDetector([OWN, longer(1), longer(2)], threshold=88)
    assert echo.match(QUERY) > 98
    # ... three push it out of the closest three, as scoring the whole corpus always did.
    echo = EchoDetector([OWN, longer(1), longer(2), longer(3)], threshold=88)
    assert echo.match(QUERY) == 0.0


def test_the_last_reply_counts_as_an_own_text():
    echo = EchoDetector([], threshold=88)
    assert echo.match(QUERY, also=[OWN]) > 98
    assert echo.match(QUERY, also=["", longer(1)]) == 0.0


def test_asking_again_gives_the_same_answer():
    # the last answer is kept for the same text and own texts (first message, two events)
    echo = EchoDetector([OWN], threshold=88)
    first = echo.match(QUERY)
    assert echo.match(QUERY) == first > 98
    assert echo.match(QUERY, also=[longer(1)]) == first
    assert echo.match("where is my parcel from last week") == 0.0
    empty = EchoDetector([], threshold=88)
    assert empty.match(QUERY) == 0.0
    assert empty.match(QUERY, also=[OWN]) > 98
    assert empty.match(QUERY) == 0.0
