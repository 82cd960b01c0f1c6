"""systemd's EnvironmentFile= rules (systemd.exec(5)), as trygg_systemd.envfile reads them: what
a shell would expand or split, systemd keeps; quotes and backslashes as systemd treats them."""

from __future__ import annotations

import pytest

from trygg_systemd.envfile import parse_env_file


def test_dollars_backquotes_and_spaces_are_kept_as_written() -> None:
    text = (
        "TRYGG_EDGE_MQTT__PASSWORD=pa$word$$-$(id)-`id`\n"
        "SPACED =   interior  whitespace kept   \n"
        "HASH=x # not a comment\n"
    )
    assert parse_env_file(text) == {
        "TRYGG_EDGE_MQTT__PASSWORD": "pa$word$$-$(id)-`id`",
        "SPACED": "interior  whitespace kept",
        "HASH": "x # not a comment",
    }


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("V='single $HOME \\n \"verbatim\"'", 'single $HOME \\n "verbatim"'),
        ('V="a \\"b\\" \\$c \\\\ \\` \\n"', 'a "b" $c \\ ` \\n'),  # only "\\`$ are escapes
        ("V=back\\ slash\\\\", "back slash\\"),  # unquoted: a backslash keeps the next one
        ("V=  'quoted'  ", "quoted"),  # whitespace outside the quotes dropped
        ("V='a'b", "ab"),  # as systemd: text after the closing quote goes on
        ("V=", ""),
        ("V=last line without a newline", "last line without a newline"),
    ],
)
def test_quotes_and_backslashes(line: str, value: str) -> None:
    assert parse_env_file(line) == {"V": value}


def test_lines_join_and_quotes_span_lines() -> None:
    text = "A=one\\\ntwo\nB='first\nsecond'\nC=\"x\\\ny\"\n"
    assert parse_env_file(text) == {"A": "onetwo", "B": "first\nsecond", "C": "xy"}


def test_comments_lines_without_equals_and_invalid_names_are_ignored() -> None:
    text = (
        "# a comment\n"
        "; another\n"
        "\n"
        "   \n"
        "JUST_A_WORD\n"
        "export EXPORTED=1\n"  # not a shell: "export EXPORTED" is no name
        "bad-name=1\n"
        "1ST=1\n"
        "  GOOD_1 = yes\n"
        "# a comment line ending in a backslash \\\n"
        "STILL_READ=1\n"
    )
    assert parse_env_file(text) == {"GOOD_1": "yes", "STILL_READ": "1"}


def test_the_last_assignment_of_a_name_wins() -> None:
    assert parse_env_file("A=1\nA=2\n") == {"A": "2"}
