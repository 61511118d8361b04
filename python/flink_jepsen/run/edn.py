"""A reader for the subset of EDN that test specs use (maps, vectors, lists, sets, strings,
keywords, symbols, numbers, booleans, nil, comments, #_ discards), so the original project's
`.edn` test specs are read unchanged. Keywords and symbols become plain strings (`:dbs` -> "dbs").
"""

from __future__ import annotations

import re
from typing import Any

_WS = set(" \t\r\n,")
_DELIM = _WS | set("()[]{}\";")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
_INT = re.compile(r"^[+-]?\d+N?$")
_FLOAT = re.compile(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?$")


class EdnError(ValueError):
    """Names the line and column where the text stopped being EDN."""


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def where(self) -> str:
        line = self.text.count("\n", 0, self.pos) + 1
        col = self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1
        return f"line {line}, column {col}"

    def fail(self, what: str) -> EdnError:
        return EdnError(f"{what} at {self.where()}")

    def skip(self) -> None:
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in _WS:
                self.pos += 1
            elif c == ";":
                while self.pos < len(self.text) and self.text[self.pos] != "\n":
                    self.pos += 1
            elif self.text.startswith("#_", self.pos):
                self.pos += 2
                self.read()
            else:
                return

    def read(self) -> Any:
        self.skip()
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of input")
        c = self.text[self.pos]
        if c == "{":
            items = self.read_seq("}")
            if len(items) % 2:
                raise self.fail("a map needs an even number of forms")
            keys = [_key(items[i]) for i in range(0, len(items), 2)]
            for k in keys:
                if isinstance(k, (dict, list)):
                    raise self.fail(f"a map key must be a keyword, string or number, not {k!r}")
            return dict(zip(keys, items[1::2]))
        if c == "[":
            return self.read_seq("]")
        if c == "(":
            return self.read_seq(")")
        if self.text.startswith("#{", self.pos):
            self.pos += 1
            return self.read_seq("}")
        if c in ")]}":
            raise self.fail(f"unexpected {c!r}")
        if c == '"':
            return self.read_string()
        if c == "\\":
            self.pos += 1
            token = self.token()
            return {"newline": "\n", "space": " ", "tab": "\t"}.get(token, token)
        return self.atom(self.token())

    def read_seq(self, close: str) -> list[Any]:
        self.pos += 1
        items = []
        while True:
            self.skip()
            if self.pos >= len(self.text):
                raise self.fail(f"missing {close!r}")
            if self.text[self.pos] == close:
                self.pos += 1
                return items
            items.append(self.read())

    def read_string(self) -> str:
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == '"':
                self.pos += 1
                return "".join(out)
            if c == "\\":
                nxt = self.text[self.pos + 1: self.pos + 2]
                if nxt == "u":
                    out.append(chr(int(self.text[self.pos + 2: self.pos + 6], 16)))
                    self.pos += 6
                    continue
                if nxt not in _ESCAPES:
                    raise self.fail(f"bad escape \\{nxt}")
                out.append(_ESCAPES[nxt])
                self.pos += 2
                continue
            out.append(c)
            self.pos += 1
        raise self.fail("unterminated string")

    def token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _DELIM:
            self.pos += 1
        return self.text[start:self.pos]

    def atom(self, token: str) -> Any:
        if token in ("true", "false"):
            return token == "true"
        if token == "nil":
            return None
        if _INT.match(token):
            return int(token.rstrip("N"))
        if _FLOAT.match(token):
            return float(token.rstrip("M"))
        if token.startswith(":") and len(token) > 1:
            return token[1:]
        if token:
            return token
        raise self.fail(f"unexpected {self.text[self.pos]!r}")


def _key(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def loads(text: str) -> Any:
    """Reads exactly one EDN form from text."""
    r = _Reader(text)
    value = r.read()
    r.skip()
    if r.pos != len(text):
        raise r.fail("more than one form")
    return value
