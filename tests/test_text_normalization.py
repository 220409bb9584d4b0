"""Spoken forms of tech text: one replacement per display word, readable by espeak."""

from __future__ import annotations

import pytest

from interviewai.domain.text_normalization import SpeechToken, spoken_form, spoken_text, tokenize_for_speech


def test_display_words_are_the_text_split_on_whitespace() -> None:
    text = "  Give an example,\tsuch as AWS or C#,\nto deliver on time.  "
    tokens = tokenize_for_speech(text)
    assert [t.display for t in tokens] == text.split()


def test_plain_words_are_spoken_as_written() -> None:
    text = "Tell me about yourself, your background, and what brings you to this role."
    assert spoken_text(tokenize_for_speech(text)) == text


@pytest.mark.parametrize(
    ("display", "spoken"),
    [
        ("AWS", "A-W-S"),
        ("C#", "C sharp"),
        ("C#,", "C sharp,"),
        ("C++", "C plus plus"),
        ("F#.", "F sharp."),
        ("CI/CD", "C-I C-D"),
        ("UI/UX", "U-I U-X"),
        (".NET", "dot net"),
        ("k8s", "Kubernetes"),
        ("PostgreSQL,", "Postgres Q-L,"),
        ("(AWS),", "(A-W-S),"),
        ("“AWS”", "“A-W-S”"),
        ("AWS's", "A-W-S's"),
        ("AWS-based", "A-W-S-based"),
        ("AWS/GCP", "A-W-S/GCP"),
        ("VMs", "V-M's"),
        ("APIs,", "A-P-I's,"),
        ("IDEs", "I-D-E's"),
    ],
)
def test_tech_terms(display: str, spoken: str) -> None:
    assert spoken_form(display) == spoken


@pytest.mark.parametrize(
    ("display", "spoken"),
    [
        ("$50,000", "50,000 dollars"),
        ("$50,000.", "50,000 dollars."),
        ("$1", "1 dollar"),
        ("$0.99", "99 cents"),
        ("$1.50", "1 dollar 50 cents"),
        ("$2.5M", "2.5 million dollars"),
        ("$100k", "100 thousand dollars"),
        ("€50", "50 euros"),
        ("£1", "1 pound"),
    ],
)
def test_money_says_the_amount_before_the_unit(display: str, spoken: str) -> None:
    assert spoken_form(display) == spoken


@pytest.mark.parametrize(
    ("display", "spoken"),
    [
        ("2023", "20 23"),
        ("2023,", "20 23,"),
        ("1990", "19 90"),
        ("1905", "19 oh 5"),
        ("1900", "19 hundred"),
        ("2005", "2005"),
        ("1990s", "19 nineties"),
        ("2020s", "20 twenties"),
        ("2000s", "two thousands"),
        ("'90s", "'nineties"),
        ("1000", "1000"),
        ("300", "300"),
        ("12345", "12345"),
    ],
)
def test_years_and_decades_are_said_as_people_say_them(display: str, spoken: str) -> None:
    assert spoken_form(display) == spoken


def test_titles_lose_the_period_that_espeak_takes_for_a_sentence_end() -> None:
    tokens = tokenize_for_speech("Dr. Smith and Mrs. Jones met Prof. Lee.")
    assert spoken_text(tokens) == "Doctor Smith and Missus Jones met Professor Lee."


def test_abbreviation_keeps_a_full_stop_only_where_a_sentence_ends() -> None:
    text = "Use a cloud, e.g., AWS or GCP, i.e. anything etc. Then tell me more vs. less etc."
    assert spoken_text(tokenize_for_speech(text)) == (
        "Use a cloud, for example, A-W-S or GCP, that is anything et cetera. Then tell me more versus less et cetera."
    )


def test_abbreviation_before_an_acronym_does_not_end_the_sentence() -> None:
    assert spoken_text(tokenize_for_speech("tools, e.g. AWS Lambda")) == "tools, for example A-W-S Lambda"


def test_every_display_word_gets_exactly_one_token() -> None:
    text = "How would you design a CI/CD pipeline for $50,000 in 2023, e.g., on AWS? Dr. Who knows..."
    tokens = tokenize_for_speech(text)
    assert len(tokens) == len(text.split())
    assert all(isinstance(t, SpeechToken) and t.spoken.strip() for t in tokens)
    changed = {t.display: t.spoken for t in tokens if t.display != t.spoken}
    assert changed == {
        "CI/CD": "C-I C-D",
        "$50,000": "50,000 dollars",
        "2023,": "20 23,",
        "e.g.,": "for example,",
        "AWS?": "A-W-S?",
        "Dr.": "Doctor",
    }


@pytest.mark.parametrize(
    "word", ["-", "—", "...", "…", "'", "(", "re-architect", "front-end", "don't", "10%"]
)
def test_punctuation_and_ordinary_words_pass_through(word: str) -> None:
    assert spoken_form(word) == word


def test_empty_text_has_no_tokens() -> None:
    assert tokenize_for_speech(" \n\t ") == []
