"""Industry demo presets (NFR-4): one TOML file per seed industry under `data/`, applied by a generic
loader through the configuration services — the industries differ only in their data.

`files` finds and checks preset files (light to import: the CLI lists and checks presets without
loading the domains); `loader.load` applies one to a database.
"""
