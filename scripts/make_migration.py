"""Autogenerate a migration from the models: `python scripts/make_migration.py "add ticket table"`.

Compares the models with a scratch SQLite database brought to the current head, so the result does
not depend on any developer's local data. Review the file before committing: Alembic cannot see
renames, triggers or data moves.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from kefu.db import make_engine
from kefu.migrate import make_config, upgrade


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit('usage: make_migration.py "message"')
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        engine = make_engine(url)
        upgrade(engine)
        cfg = make_config(url)
        versions = Path(cfg.get_main_option("script_location") or "") / "versions"
        rev_id = f"{len(list(versions.glob('[0-9]*.py'))) + 1:04d}"
        command.revision(cfg, message=sys.argv[1], autogenerate=True, rev_id=rev_id)
        engine.dispose()


if __name__ == "__main__":
    main()
