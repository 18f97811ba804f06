"""Tokenisation and highlighting for keyword search over English and Chinese text.

English words are lower-cased, stopwords dropped and lightly stemmed (a few suffix rules, so
"prices", "priced" and "pricing" meet); runs of Chinese characters are segmented with jieba in
search mode (`cut_for_search`, which also emits the shorter words inside long ones). Mixed text
is handled run by run, so "这个price太贵了" yields both kinds of token. Documents and queries go
through the same function, which is all BM25 needs.
"""

from __future__ import annotations

import html
import logging
import re
import tempfile
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import jieba

# Runs of CJK ideographs, or ASCII words with inner apostrophes (customer's, don't).
_TOKEN_RE = re.compile(
    r"(?P<cjk>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|(?P<word>[0-9a-z]+(?:'[a-z]+)*)"
)

# Small on purpose: BM25's idf already discounts common words; these only add noise.
_ENGLISH_STOPWORDS = """
a an and are as at be been but by do does for from had has have he her his i if in into is it its
me my of on or our she so than that the their them then there these they this to was we were what
when which who will with would you your um uh
"""
_CHINESE_STOPWORDS = "的 了 是 在 和 就 都 也 吗 呢 吧 啊 呀 嗯 哦 着 之 与 及 而 这 那 个"
ENGLISH_STOPWORDS = frozenset(_ENGLISH_STOPWORDS.split())
CHINESE_STOPWORDS = frozenset(_CHINESE_STOPWORDS.split())

_jieba_lock = threading.Lock()
_jieba_tokenizer: jieba.Tokenizer | None = None
_jieba_cache_dir: Path = Path(tempfile.gettempdir()) / "talktrack-jieba"


class Token(NamedTuple):
    """One normalised token and its [start, end) character span in the original text."""

    text: str
    start: int
    end: int


def set_jieba_cache_dir(path: Path) -> None:
    """Choose the writable directory for jieba's prefix-dictionary cache (before first use)."""
    global _jieba_cache_dir
    _jieba_cache_dir = Path(path)


def _jieba() -> jieba.Tokenizer:
    """Return the process-wide jieba tokenizer, initialising it once, quietly."""
    global _jieba_tokenizer
    with _jieba_lock:
        if _jieba_tokenizer is None:
            import jieba

            # jieba logs "Building prefix dict..." to stderr at DEBUG on first use.
            jieba.setLogLevel(logging.WARNING)
            _jieba_cache_dir.mkdir(parents=True, exist_ok=True)
            tokenizer = jieba.Tokenizer()
            tokenizer.tmp_dir = str(_jieba_cache_dir)
            tokenizer.initialize()
            _jieba_tokenizer = tokenizer
        return _jieba_tokenizer


@lru_cache(maxsize=65536)  # pure, and words repeat: every search highlights its results anew
def stem(word: str) -> str:
    """Strip common English inflections so that variants of a word share one token."""
    word = word.removesuffix("'s")
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ingly", "edly", "ing", "ed", "ly"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and re.search(r"[aeiouy]", base):
            word = _undouble(base)
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _undouble(base: str) -> str:
    """Turn "runn" (from "running") back into "run"; keep "sell", "pass", "buzz"."""
    if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "aeioulsz":
        return base[:-1]
    return base


def tokens_with_spans(text: str) -> list[Token]:
    """Tokenise text for search, keeping each token's span in the original string."""
    # NFKC folds full-width Latin and digits (ＰＲＩＣＥ, １２３) without moving offsets
    # for the characters we index; casefold after, per character, to keep spans aligned.
    folded = text.lower() if text.isascii() else "".join(_fold_char(ch) for ch in text)
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(folded):
        if match.group("cjk"):
            tokens.extend(_chinese_tokens(match.group("cjk"), match.start()))
        else:
            word = match.group("word")
            if word not in ENGLISH_STOPWORDS:
                tokens.append(Token(stem(word), match.start(), match.end()))
    return tokens


def _fold_char(ch: str) -> str:
    """Normalise one character to one lower-case character, or keep it when that is impossible."""
    folded = unicodedata.normalize("NFKC", ch).lower().replace("\u2019", "'")
    return folded if len(folded) == 1 else ch


def _chinese_tokens(run: str, offset: int) -> list[Token]:
    """Segment one run of Chinese characters with jieba's search mode."""
    return [
        Token(word, offset + start, offset + end)
        for word, start, end in _jieba().tokenize(run, mode="search")
        if word not in CHINESE_STOPWORDS
    ]


def tokenize(text: str) -> list[str]:
    """Return the search tokens of a document or query, in order (duplicates kept)."""
    return [token.text for token in tokens_with_spans(text)]


@lru_cache(maxsize=2048)  # ~10 MB at most: search results show the same passages over and over
def _spans_of(text: str) -> tuple[Token, ...]:
    """tokens_with_spans, remembered for highlighting (tokenising was a sixth of a search)."""
    return tuple(tokens_with_spans(text))


def highlight_spans(text: str, query_tokens: list[str] | set[str]) -> list[tuple[int, int]]:
    """Return the merged, sorted [start, end) spans of text whose tokens match the query."""
    wanted = set(query_tokens)
    spans = sorted((t.start, t.end) for t in _spans_of(text) if t.text in wanted)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, query_tokens: list[str] | set[str]) -> str:
    """Return text as safe HTML with query matches wrapped in <mark>; everything is escaped."""
    parts: list[str] = []
    cursor = 0
    for start, end in highlight_spans(text, query_tokens):
        parts.append(html.escape(text[cursor:start]))
        parts.append(f"<mark>{html.escape(text[start:end])}</mark>")
        cursor = end
    parts.append(html.escape(text[cursor:]))
    return "".join(parts)
