"""Rich text is reduced to formatting (nh3): nothing that runs, loads or restyles the page survives."""

from __future__ import annotations

import pytest

from kefu.core.richtext import ANNOUNCEMENT, plain_text, sanitize


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>停机<script>alert(1)</script></p>", "<p>停机</p>"),
        ('<p onclick="x()" onmouseover="y()">a</p>', "<p>a</p>"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        (
            '<a href="https://example.com/a" target="_blank">x</a>',
            '<a href="https://example.com/a" rel="noopener noreferrer">x</a>',
        ),
        ('<a href="tel:10086">拨打</a>', '<a href="tel:10086" rel="noopener noreferrer">拨打</a>'),
        ("<img src=x onerror=alert(1)>图", "图"),
        ('<iframe src="https://evil"></iframe><style>body{}</style>ok', "ok"),
        (
            '<span style="color: red; position: fixed; background-image: url(x)">红</span>',
            '<span style="color:red">红</span>',
        ),
        ("<form><input name=a><button>b</button></form>", "b"),
        ("<ul><li>一</li><li>二</li></ul>", "<ul><li>一</li><li>二</li></ul>"),
        (
            '<table><tr><td colspan="2">表</td></tr></table>',
            '<table><tbody><tr><td colspan="2">表</td></tr></tbody></table>',
        ),
    ],
)
def test_sanitize_keeps_only_formatting(dirty: str, clean: str):
    assert sanitize(dirty, ANNOUNCEMENT) == clean


def test_plain_text_separates_blocks_and_cuts():
    html = "<h3>割接通知</h3><p>今晚&nbsp;22:00&amp;之后</p><ul><li>计费</li><li>营业</li></ul>"
    assert plain_text(html, one_line=True) == "割接通知 今晚 22:00&之后 计费 营业"
    assert plain_text(html, one_line=True, limit=6) == "割接通知…"
    assert plain_text("") == ""
