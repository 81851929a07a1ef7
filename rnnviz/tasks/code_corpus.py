"""A generated code-like corpus (C and a braced Python-like dialect) and its exact per-character features.

Not a parser for real code: the corpus keeps rules that make its features computable from any line start:
strings and comments never span lines, blank lines only appear between top-level items, and every line is
indented 4 spaces per open bracket, counted after the brackets the line itself starts by closing (black's
style). So the depth at a line start is indent / 4 + its leading closers (start_depth).
"""
from __future__ import annotations

import functools
import random
import string

import numpy as np

CODE_VOCAB = "\n " + string.ascii_lowercase + string.digits + "()[]{}\"'#=+-*/<>:;,._%!&|\\?"  # 65 characters
WORDS = ("the value is not ready read file line skip done error found total count keep first last check "
         "this again later when empty missing update loop over all items we need it for and to a of in "
         "why size bad ok").split()
NAMES = ("data value count total item items name size index result line lines path node left right key keys "
         "buf text score step limit width height user table row col cache state queue first last next prev "
         "head tail tmp flag mode offset start end").split()
METHODS = ("append", "get", "pop", "push", "find", "size")
OPS = ("+", "-", "*", "/", "%", "<", ">", "==", "!=", "<=", ">=")
OPENERS, CLOSERS = "([{", ")]}"


class CodeWriter:
    """Writes one dialect's code line by line with a seeded random.Random; self.depth is the open brackets."""

    def __init__(self, rng: random.Random, c_style: bool):
        self.rng, self.c = rng, c_style
        self.lines: list[str] = []
        self.depth = 0
        self.end = ";" if c_style else ""  # statement terminator
        self.hash = "//" if c_style else "#"  # comment marker

    # -- lines with the indentation rule ------------------------------------------------------------------
    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def open(self, text: str) -> None:  # text ends with one unclosed bracket
        self.line(text)
        self.depth += 1

    def close(self, text: str = "}") -> None:  # text starts with the closer
        self.depth -= 1
        self.line(text)

    # -- pieces -------------------------------------------------------------------------------------------
    def name(self) -> str:
        r = self.rng
        words = r.sample(NAMES, 2)
        base = words[0] if r.random() < 0.5 else "_".join(words)
        return base + (str(r.randrange(10)) if r.random() < 0.1 else "")

    def words(self, lo: int, hi: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(lo, hi)))

    def string(self) -> str:
        """A quoted string; contents may hold brackets, the other quote, escapes and format codes."""
        r = self.rng
        q = '"' if self.c or r.random() < 0.6 else "'"
        text = self.words(1, 5)
        extra = r.random()
        if extra < 0.15:
            text += r.choice([": %d", " %s", " (%d)", "?", "!", " [ok]", " {x}", ".", "..."])
        elif extra < 0.25:
            text += "\\n" if q == '"' else "\\'s"
        elif extra < 0.3:
            text = ("it's " if q == '"' else 'say "') + text + ("" if q == '"' else '"')
        elif extra < 0.35:
            text = "\\" + q + text + "\\" + q
        return q + text + q

    def atom(self) -> str:
        r = self.rng.random()
        if r < 0.45:
            return self.name()
        if r < 0.75:
            return str(self.rng.choice([0, 1, 2, 3, 8, 10, 16, 42, 100, 0.5, 2.5, self.rng.randrange(1000)]))
        if r < 0.85 and not self.c:
            return self.rng.choice(["none", "true", "false", "[]", "{}"])
        return self.string()

    def expr(self, level: int = 0) -> str:
        r, rng = self.rng.random(), self.rng
        if level > 2 or r < 0.4:
            return self.atom()
        if r < 0.6:
            return f"{self.expr(level + 1)} {rng.choice(OPS)} {self.expr(level + 1)}"
        if r < 0.72:
            return f"({self.expr(level + 1)} {rng.choice(OPS)} {self.expr(level + 1)})"
        if r < 0.86:
            args = ", ".join(self.expr(level + 1) for _ in range(rng.randint(0, 3)))
            method = "." + rng.choice(METHODS) if rng.random() < 0.3 else ""
            return f"{self.name()}{method}({args})"
        if r < 0.93 or self.c:
            return f"{self.name()}[{self.expr(level + 1)}]"
        if r < 0.97:
            return "[" + ", ".join(self.expr(level + 2) for _ in range(rng.randint(1, 4))) + "]"
        return "{" + ", ".join(f"{self.string()}: {self.expr(level + 2)}" for _ in range(rng.randint(1, 3))) + "}"

    def condition(self) -> str:
        rng = self.rng
        a = f"{self.name()} {rng.choice(OPS[5:])} {self.expr(2)}"
        if rng.random() < 0.3:
            joiner = rng.choice(["&&", "||"]) if self.c else rng.choice(["and", "or"])
            neg = "!" if self.c else "not "
            a = f"{a} {joiner} {neg}{self.name()}"
        return a

    # -- statements and blocks ----------------------------------------------------------------------------
    def statement(self) -> None:
        r, rng, e = self.rng.random(), self.rng, self.end
        if r < 0.35:
            decl = rng.choice(["int ", "char *", "float ", ""]) if self.c else ""
            comment = f"  {self.hash} {self.words(1, 4)}" if rng.random() < 0.15 else ""
            self.line(f"{decl}{self.name()} {rng.choice(['=', '=', '+=', '-='])} {self.expr()}{e}{comment}")
        elif r < 0.55:
            fn = "printf" if self.c else rng.choice(["print", "log", "emit"])
            self.line(f"{fn}({self.string()}, {self.expr(1)}){e}")
        elif r < 0.65:
            self.line(f"{self.hash} {self.words(2, 8)}")
        elif r < 0.72 and self.c:
            self.line(f"{self.name()} = {self.condition()} ? {self.atom()} : {self.atom()};")
        elif r < 0.72:
            self.literal_block(f"{self.name()} = ")
        else:
            self.line(f"{self.name()}({', '.join(self.expr(1) for _ in range(rng.randint(1, 3)))}){e}")

    def literal_block(self, prefix: str) -> None:
        """A multi-line dict (script) or array (C) literal, one entry per line."""
        self.open(prefix + "{")
        for _ in range(self.rng.randint(1, 4)):
            key = "" if self.c else f"{self.string()}: "
            self.line(f"{key}{self.expr(1)},")
        self.close("}" + self.end)

    def block(self, level: int) -> None:
        """A few statements, some of them if/for/while blocks nested up to level 3."""
        rng = self.rng
        for _ in range(rng.randint(1, 5 if level < 2 else 3)):
            r = rng.random()
            if level < 3 and r < 0.15:
                self.open(f"if ({self.condition()}) {{")
                self.block(level + 1)
                if rng.random() < 0.4:
                    self.depth -= 1
                    self.open("} else {")
                    self.block(level + 1)
                self.close()
            elif level < 3 and r < 0.27:
                i = rng.choice("ijk")
                head = f"for (int {i} = 0; {i} < {self.expr(2)}; {i}++) {{" if self.c else \
                    f"for {i} in range({self.expr(2)}) {{"
                self.open(head)
                self.block(level + 1)
                self.close()
            elif level < 3 and r < 0.32:
                self.open(f"while ({self.condition()}) {{")
                self.block(level + 1)
                self.close()
            else:
                self.statement()

    def function(self) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            self.line(f"{self.hash} {self.words(3, 10)}")
        params = [self.name() for _ in range(rng.randint(0, 3))]
        if self.c:
            args = ", ".join(rng.choice(["int ", "char *", "float "]) + p for p in params)
            self.open(f"{rng.choice(['int', 'void', 'float'])} {self.name()}({args}) {{")
        else:
            self.open(f"def {self.name()}({', '.join(params)}) {{")
        self.block(1)
        self.line(f"return {self.expr()}{self.end}")
        self.close()
        self.lines.append("")  # a blank line between top-level items only


@functools.lru_cache(maxsize=4)
def code_corpus(seed: int = 0, size: int = 300_000) -> str:
    """About `size` characters of generated code, the same for the same seed (a pure function, memoised)."""
    rng = random.Random(seed)
    parts, total = [], 0
    while total < size:
        w = CodeWriter(rng, c_style=rng.random() < 0.5)
        if rng.random() < 0.15:
            w.literal_block(("int " if w.c else "") + w.name() + ("[] = " if w.c else " = "))
            w.lines.append("")
        else:
            w.function()
        chunk = "\n".join(w.lines) + "\n"
        parts.append(chunk)
        total += len(chunk)
    return "".join(parts)


def start_depth(text: str) -> int:
    """The bracket depth before `text`, a chunk that starts at a line start of code in this style."""
    stripped = text.lstrip(" ")
    indent = len(text) - len(stripped)
    closers = len(stripped) - len(stripped.lstrip(CLOSERS))
    return indent // 4 + closers


def features_of_text(text: str, depth: int = 0) -> dict[str, np.ndarray]:
    """Per-character ground truth, each the state after reading that character, for text starting outside
    any string or comment with `depth` brackets open:
        "inside quotes"    1 from an opening quote up to (not including) its closing quote; escapes honoured
        "bracket depth"    open ( [ { minus closed, outside strings and comments (# or // to the line end)
        "position in line" the column, 0 for a line's first character (a newline has its line's last column)
    A newline also ends an unclosed string, so one bad line never poisons the rest.
    """
    n = len(text)
    quote, depths, column = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    in_str, escaped, comment, col = "", False, False, 0
    for t, ch in enumerate(text):
        if ch == "\n":
            in_str, escaped, comment = "", False, False
        elif comment:
            pass
        elif in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == in_str:
                in_str = ""
        elif ch in "\"'":
            in_str = ch
        elif ch == "#" or (ch == "/" and text[t + 1:t + 2] == "/"):
            comment = True
        elif ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth = max(depth - 1, 0)
        quote[t], depths[t], column[t] = bool(in_str), depth, col
        col = 0 if ch == "\n" else col + 1
    return {"inside quotes": quote, "bracket depth": depths, "position in line": column}
