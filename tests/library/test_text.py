"""Tokenisation and highlighting for keyword search (English, Chinese, mixed)."""

from __future__ import annotations

from app.library.text import highlight, highlight_spans, stem, tokenize


def test_english_tokens_are_lowercased_without_stopwords() -> None:
    assert tokenize("The PRICE is too HIGH for us") == ["pric", "too", "high", "us"]


def test_inflections_of_a_word_share_one_stem() -> None:
    assert {stem(w) for w in ("price", "prices", "priced", "pricing")} == {"pric"}
    assert stem("running") == stem("run") == "run"
    assert stem("companies") == stem("company")


def test_chinese_is_segmented_with_jieba_search_mode() -> None:
    # Search mode also emits the short words inside a long one (中华人民共和国 -> 共和国).
    assert tokenize("价格太贵了") == ["价格", "太贵"]
    assert "共和国" in tokenize("中华人民共和国")


def test_mixed_language_text_keeps_both_kinds_of_token() -> None:
    assert tokenize("我觉得这个Price太贵了") == ["我", "觉得", "这个", "pric", "太贵"]


def test_full_width_latin_is_folded_to_ascii() -> None:
    assert tokenize("ＰＲＩＣＥ １２３") == ["pric", "123"]


def test_highlight_spans_point_into_the_original_text() -> None:
    text = "Our 价格太贵 and PRICES"
    spans = highlight_spans(text, tokenize("price 价格"))
    assert [text[a:b] for a, b in spans] == ["价格", "PRICES"]


def test_highlight_escapes_hostile_html_before_marking() -> None:
    text = '<script>alert("x")</script> price <img src=x onerror=alert(1)>'
    html = highlight(text, tokenize("price script"))
    assert "<script" not in html and "<img" not in html
    assert html == (
        "&lt;<mark>script</mark>&gt;alert(&quot;x&quot;)&lt;/<mark>script</mark>&gt; "
        "<mark>price</mark> &lt;img src=x onerror=alert(1)&gt;"
    )


def test_highlight_without_matches_returns_escaped_text() -> None:
    assert highlight("a < b & c", ["zzz"]) == "a &lt; b &amp; c"
