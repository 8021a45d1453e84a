"""Every UI message of the package has a Chinese translation (zh_CN is the default language)."""

from kefu.core import i18n
from kefu.core.i18n_extract import messages


def test_every_message_has_a_chinese_translation():
    i18n.translations.cache_clear()
    catalog = i18n.translations("zh_CN")._catalog  # type: ignore[attr-defined]
    missing = {msgid: places[:2] for msgid, places in messages().items() if msgid not in catalog}
    assert not missing, f"{len(missing)} untranslated messages: {missing}"


def test_placeholders_survive_translation():
    import re

    catalog = i18n.translations("zh_CN")._catalog  # type: ignore[attr-defined]
    for msgid, text in catalog.items():
        if not isinstance(msgid, str):
            continue
        assert set(re.findall(r"%\(\w+\)s", msgid)) == set(re.findall(r"%\(\w+\)s", text)), msgid


def test_no_message_is_translated_two_ways():
    """Areas' catalogs are merged: one msgid with two translations would show the wrong one somewhere."""
    from babel.messages.pofile import read_po

    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in i18n.catalog_files("zh_CN"):
        with path.open("rb") as f:
            for m in read_po(f):
                if not isinstance(m.id, str) or not m.id or not m.string:
                    continue
                first = seen.setdefault(m.id, (path.name, str(m.string)))
                if first[1] != m.string:
                    clashes.append((m.id, first, (path.name, m.string)))
    assert not clashes, clashes
