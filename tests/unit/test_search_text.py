"""Normalisation, segmentation and highlighting of the search interface (no database)."""

from __future__ import annotations

import pytest

from kefu.core.search import highlight
from kefu.core.search.backends import fts5_query, tsvector_literal
from kefu.core.search.text import DomainWord, build_segmenter, normalize


@pytest.fixture(scope="module")
def seg():
    return build_segmenter([DomainWord("机顶盒"), DomainWord("光猫"), DomainWord("欠费停机")], "t")


def test_normalize_full_width_and_case():
    assert normalize("ＩＰＴＶ黑屏，Ｅ３０２！") == "iptv黑屏,e302!"


def test_mixed_chinese_english_digits(seg):
    assert seg.query_terms("机顶盒E302错误") == ["机顶盒", "e302", "错误"]
    assert seg.query_terms("ＩＰＴＶ黑屏") == ["iptv", "黑屏"]


def test_spaces_and_punctuation_are_dropped(seg):
    assert seg.query_terms("宽带 无法上网！！") == seg.query_terms("宽带无法上网") == ["宽带", "无法", "上网"]
    assert seg.document_terms("——宽带，（无法）上网。") == ["宽带", "无法", "上网"]


def test_terms_are_letters_and_digits_only(seg):
    # "3.5" and "e-302" split where SQLite's unicode61 would split them: query and index agree.
    assert seg.query_terms("3.5米 e-302") == ["3", "5", "米", "e", "302"]


def test_search_mode_indexes_the_parts_of_long_words(seg):
    terms = seg.document_terms("电视机顶盒")
    assert "机顶盒" in terms and "机顶" in terms
    assert seg.query_terms("机顶盒") == ["机顶盒"]


def test_domain_word_keeps_its_pieces_together():
    plain = build_segmenter([], "a")
    domain = build_segmenter([DomainWord("光猫")], "b")
    assert plain.query_terms("光猫闪红灯")[:2] == ["光", "猫"]
    assert domain.query_terms("光猫闪红灯")[0] == "光猫"
    # Adding a word never changes how text without it is cut.
    assert plain.document_terms("宽带无法上网") == domain.document_terms("宽带无法上网")


def test_query_terms_are_unique(seg):
    assert seg.query_terms("宽带 宽带 宽带") == ["宽带"]


def test_highlight_escapes_and_marks():
    html = highlight.highlight("<b>宽带</b>无法上网 & 宽带", ["宽带", "上网"])
    assert html == "&lt;b&gt;<mark>宽带</mark>&lt;/b&gt;无法<mark>上网</mark> &amp; <mark>宽带</mark>"


def test_highlight_full_width_original():
    assert highlight.highlight("ＩＰＴＶ黑屏", ["iptv", "黑屏"]) == "<mark>ＩＰＴＶ黑屏</mark>"


def test_highlight_latin_terms_match_whole_words_only():
    assert highlight.highlight("E302 and E3021", ["e302"]) == "<mark>E302</mark> and E3021"


def test_overlapping_terms_merge():
    assert highlight.highlight("电视机顶盒", ["机顶", "机顶盒", "顶盒"]) == "电视<mark>机顶盒</mark>"


def test_snippet_window_around_matches():
    body = "甲" * 300 + "宽带无法上网" + "乙" * 300
    html = highlight.snippet(body, ["宽带", "上网"], size=60)
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>宽带</mark>无法<mark>上网</mark>" in html
    assert len(html.replace("<mark>", "").replace("</mark>", "")) == 62


def test_snippet_without_match_is_the_beginning():
    assert highlight.snippet("短文本<x>", ["宽带"]) == "短文本&lt;x&gt;"
    long = highlight.snippet("开头" + "字" * 300, ["宽带"], size=10)
    assert long == "开头" + "字" * 8 + "…"


def test_fts5_query_quotes_every_term():
    assert fts5_query(["宽带", 'a"b'], any_term=False) == '"宽带" "a""b"'
    assert fts5_query(["宽带", "上网"], any_term=True) == '"宽带" OR "上网"'


def test_tsvector_literal_weights_and_positions():
    assert tsvector_literal([(["宽带", "上网"], "A"), (["宽带"], "D")]) == "'宽带':1A,3 '上网':2A"
    assert tsvector_literal([(["o'k"], "B")]) == "'o''k':1B"


def test_bm25_title_above_body_and_rare_above_common():
    from kefu.core.search import ranking

    idfs = {"转托管": ranking.idf(1000, 10), "办理": ranking.idf(1000, 900)}
    scores = ranking.score(
        [(1, ("转托管 办理", "", "说明")), (2, ("资费 说明", "", "办理 转托管 需要 身份证"))],
        ["转托管", "办理"],
        idfs,
    )
    assert scores[1] > scores[2] > 0
    repeated = ranking.score(
        [(1, ("", "", "宽带 宽带 宽带")), (2, ("", "", "宽带 其他 其他"))], ["宽带"], {"宽带": 1.0}
    )
    assert repeated[1] > repeated[2]
    assert ranking.idf(1000, 10) > ranking.idf(1000, 900) > 0
