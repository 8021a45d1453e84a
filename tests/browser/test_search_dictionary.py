"""The search dictionary page in a real browser: preview a sentence, add a word, see the cut change."""

from __future__ import annotations

from tests.browser.conftest import sign_in


def test_add_a_word_and_preview_the_segmentation(page, live_url):
    sign_in(page, live_url, "admin")
    page.goto(live_url + "/admin/search/dictionary")
    assert page.locator("#search-word-table tbody tr").count() > 10  # the seeded words

    page.fill("#segment-form textarea", "管网漏损率偏高")
    page.click("#segment-form button")
    query_terms = page.locator('[data-terms="query"] .badge').all_inner_texts()
    assert "漏损" not in query_terms and "漏" in query_terms

    page.fill("#search-word-form #f-word", "漏损")
    page.fill("#search-word-form #f-note", "供水管网漏损")
    page.click("#search-word-form button[type=submit]")
    page.wait_for_selector("#segment-result")
    assert "漏损" in page.locator('[data-terms="query"] .badge').all_inner_texts()
    assert page.locator("#search-word-table", has_text="供水管网漏损").count() == 1

    page.fill("#search-word-form #f-word", "漏")
    page.click("#search-word-form button[type=submit]")
    assert page.locator('[data-error-for="word"]').is_visible()
