"""systemd's ``EnvironmentFile=`` as systemd reads it, so that a tool run beside a service (the
edge's doctor, its config check) sees the very values the service gets.

Why not ``set -a; . file`` in a shell: the rules differ. A shell expands ``$VAR`` and
backquotes, splits on unquoted spaces and runs what follows; systemd does none of that. A
broker password with a ``$`` in it would reach the doctor as another password than the one the
service logs in with, and a value with a space would run half of it as a command.

The rules (systemd.exec(5), "EnvironmentFile="; the state machine of systemd's
``parse_env_file_internal``): lines starting with ``#`` or ``;`` are comments, lines without
``=`` are ignored; whitespace around the key and around an unquoted value is dropped, interior
whitespace kept; unquoted, a backslash keeps the next character (a backslash-newline joins
lines); in single quotes everything is verbatim; in double quotes a backslash escapes only
``"``, ``\\``, `````, ``$`` (and newline), other backslashes stay; quotes may span lines. No
variable is ever expanded. An assignment whose name is not a valid environment name is
dropped, as systemd drops it. A comment ending in a backslash ends at its line, as in systemd
254 and later (older systemd, Bookworm's 252 among them, took the next line into the comment:
do not end a comment with a backslash).
"""

from __future__ import annotations

import re
from enum import Enum, auto

COMMENTS = "#;"
WHITESPACE = " \t\n\r"
NEWLINE = "\n\r"
SHELL_NEED_ESCAPE = '"\\`$'
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _State(Enum):
    PRE_KEY = auto()
    KEY = auto()
    PRE_VALUE = auto()
    VALUE = auto()
    VALUE_ESCAPE = auto()
    SINGLE_QUOTE = auto()
    DOUBLE_QUOTE = auto()
    DOUBLE_QUOTE_ESCAPE = auto()
    COMMENT = auto()
    COMMENT_ESCAPE = auto()


_PUSHED_AT_END = {
    _State.PRE_VALUE,
    _State.VALUE,
    _State.VALUE_ESCAPE,
    _State.SINGLE_QUOTE,
    _State.DOUBLE_QUOTE,
    _State.DOUBLE_QUOTE_ESCAPE,
}


class _Parser:
    def __init__(self) -> None:
        self.found: dict[str, str] = {}
        self.state = _State.PRE_KEY
        self.key: list[str] = []
        self.value: list[str] = []
        self.key_end: int | None = None  # where the key's trailing whitespace starts
        self.value_end: int | None = None  # likewise for an unquoted value

    def push(self) -> None:
        key = "".join(self.key[: self.key_end])
        value = "".join(self.value)
        if NAME.fullmatch(key):
            self.found[key] = value
        self.key, self.value, self.key_end, self.value_end = [], [], None, None

    def feed(self, c: str) -> None:  # noqa: C901 - one branch per state, as systemd's own
        s = _State
        match self.state:
            case s.PRE_KEY:
                if c in COMMENTS:
                    self.state = s.COMMENT
                elif c not in WHITESPACE:
                    self.state, self.key, self.key_end = s.KEY, [c], None
            case s.KEY:
                if c in NEWLINE:
                    self.state, self.key = s.PRE_KEY, []
                elif c == "=":
                    self.state, self.value_end = s.PRE_VALUE, None
                else:
                    if c not in WHITESPACE:
                        self.key_end = None
                    elif self.key_end is None:
                        self.key_end = len(self.key)
                    self.key.append(c)
            case s.PRE_VALUE:
                if c in NEWLINE:
                    self.state = s.PRE_KEY
                    self.push()
                elif c == "'":
                    self.state = s.SINGLE_QUOTE
                elif c == '"':
                    self.state = s.DOUBLE_QUOTE
                elif c == "\\":
                    self.state = s.VALUE_ESCAPE
                elif c not in WHITESPACE:
                    self.state = s.VALUE
                    self.value.append(c)
            case s.VALUE:
                if c in NEWLINE:
                    self.state = s.PRE_KEY
                    self.chomp()
                    self.push()
                elif c == "\\":
                    self.state, self.value_end = s.VALUE_ESCAPE, None
                else:
                    if c not in WHITESPACE:
                        self.value_end = None
                    elif self.value_end is None:
                        self.value_end = len(self.value)
                    self.value.append(c)
            case s.VALUE_ESCAPE:
                self.state = s.VALUE
                if c not in NEWLINE:  # an escaped newline is eaten up entirely
                    self.value.append(c)
            case s.SINGLE_QUOTE:
                if c == "'":
                    self.state = s.PRE_VALUE
                else:
                    self.value.append(c)
            case s.DOUBLE_QUOTE:
                if c == '"':
                    self.state = s.PRE_VALUE
                elif c == "\\":
                    self.state = s.DOUBLE_QUOTE_ESCAPE
                else:
                    self.value.append(c)
            case s.DOUBLE_QUOTE_ESCAPE:
                self.state = s.DOUBLE_QUOTE
                if c in SHELL_NEED_ESCAPE:
                    self.value.append(c)
                elif c != "\n":  # other characters keep their backslash, as in a shell
                    self.value += ["\\", c]
            case s.COMMENT:
                if c == "\\":
                    self.state = s.COMMENT_ESCAPE
                elif c in NEWLINE:
                    self.state = s.PRE_KEY
            case s.COMMENT_ESCAPE:  # systemd >= 254: a comment never swallows the next line
                self.state = s.PRE_KEY if c in NEWLINE else s.COMMENT

    def chomp(self) -> None:
        """Drop an unquoted value's trailing whitespace."""
        if self.value_end is not None:
            del self.value[self.value_end :]

    def end(self) -> dict[str, str]:
        if self.state is _State.VALUE:
            self.chomp()
        if self.state in _PUSHED_AT_END:
            self.push()
        return self.found


def parse_env_file(text: str) -> dict[str, str]:
    """The variables ``text`` (an EnvironmentFile's contents) gives a service, in order."""
    parser = _Parser()
    for c in text:
        parser.feed(c)
    return parser.end()
