"""Write a zh_CN catalog from a Python mapping file: `python scripts/write_po.py AREA MAPPING.py`.

A convenience for developers: the mapping file holds `MESSAGES = {"English": "中文", ...}`; existing
entries of the area's catalog are kept unless the mapping changes them.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "src" / "kefu" / "locale" / "zh_CN" / "LC_MESSAGES"


def main() -> None:
    area, mapping_file = sys.argv[1], sys.argv[2]
    mapping: dict[str, str] = runpy.run_path(mapping_file)["MESSAGES"]
    path = LOCALE_DIR / f"{area}.po"
    catalog = Catalog(locale="zh_CN", project="kefu", charset="utf-8")
    if path.exists():
        with path.open("rb") as fh:
            for message in read_po(fh, locale="zh_CN"):
                if message.id:
                    catalog.add(message.id, message.string)
    for msgid, text in mapping.items():
        if msgid in catalog:
            del catalog[msgid]  # `add` would keep the old translation
        catalog.add(msgid, text)
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, sort_output=True, width=0)
    print(f"{path.name}: {len(catalog)} messages")


if __name__ == "__main__":
    main()
