"""Pure text helpers of the knowledge base: sanitising rich text, its plain text, version diffs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kefu.core import richtext
from kefu.knowledge import diff


def test_sanitize_keeps_formatting_and_drops_anything_that_runs():
    html = (
        '<h3 onclick="x()">步骤</h3><p style="color:red">检查<strong>信号线</strong></p>'
        '<script>alert(1)</script><a href="javascript:alert(1)">坏链接</a>'
        '<a href="https://example.com/kb">好链接</a><img src="x" onerror="alert(1)">'
        "<table><tr><td>1</td></tr></table>"
    )
    clean = richtext.sanitize(html)
    assert "<script" not in clean and "onclick" not in clean and "onerror" not in clean
    assert "javascript:" not in clean and "style=" not in clean
    assert "<strong>信号线</strong>" in clean and 'href="https://example.com/kb"' in clean
    assert 'rel="noopener noreferrer"' in clean and "<td>1</td>" in clean


def test_plain_text_has_a_line_per_block():
    text = richtext.plain_text("<h3>步骤</h3><ol><li>重启</li><li>检查&amp;登记</li></ol><p>a&nbsp; b</p>")
    assert text.splitlines() == ["步骤", "• 重启", "• 检查&登记", "a b"]


def test_from_plain_escapes_and_keeps_paragraphs():
    assert richtext.from_plain("一行<b>\n二行\n\n第二段") == "<p>一行&lt;b&gt;<br>二行</p><p>第二段</p>"


def test_text_diff_marks_inserted_and_deleted_characters():
    lines = diff.text_lines("先检查信号线\n再重启\n旧的一行", "先检查电源和信号线\n再重启\n新增一行")
    kinds = [line.kind for line in lines]
    assert kinds[1] == "same"
    assert "<ins>电源和</ins>" in str(lines[0].new_html) and "<del>" not in str(lines[0].old_html)
    assert any(
        "<del>旧的</del>" in str(line.old_html) or "<del>旧</del>" in str(line.old_html) for line in lines
    )


def test_diff_escapes_what_it_shows():
    lines = diff.text_lines("<b>", "<i>")
    assert "<b>" not in str(lines[0].old_html) and "&lt;" in str(lines[0].old_html)


@given(st.text(max_size=40), st.text(max_size=40))
def test_diff_keeps_both_texts(old, new):
    """Removing the marks from each side gives back the lines of that side."""
    import html
    import re

    lines = diff.text_lines(old, new)

    def side(attr: str) -> list[str]:
        kept = [re.sub(r"</?(ins|del)>", "", str(getattr(line, attr))) for line in lines]
        return [
            html.unescape(x)
            for x, line in zip(kept, lines, strict=True)
            if line.kind != ("insert" if attr == "old_html" else "delete")
        ]

    assert side("old_html") == old.splitlines()
    assert side("new_html") == new.splitlines()
