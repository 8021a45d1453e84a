"""Finding and reading preset files: TOML syntax, the schema, and the cross-references, each problem
reported with the file, the key and the reason."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from kefu.presets.schema import Preset, check_references, location

DATA = Path(__file__).resolve().parent / "data"


class PresetError(Exception):
    """A preset file that cannot be loaded: every (key, reason) found, with the file they are in."""

    def __init__(self, file: str, problems: Iterable[tuple[str, str]]) -> None:
        self.file = file
        self.problems = list(problems)
        super().__init__("\n".join(f"{file}: {key}: {reason}" for key, reason in self.problems))


def names() -> list[str]:
    """The presets shipped with kefu, by name."""
    return sorted(path.stem for path in DATA.glob("*.toml"))


def path_of(name: str) -> Path:
    """The file of a shipped preset, or the given path of a preset file."""
    if name in names():
        return DATA / f"{name}.toml"
    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate
    raise PresetError(name, [("(preset)", f"no such preset; choose one of {', '.join(names())}")])


def read(name: str) -> Preset:
    """The checked preset `name` (a shipped preset, or a path to a .toml file)."""
    path = path_of(name)
    return parse(path.read_text(encoding="utf-8"), file=path.name, stem=path.stem)


def parse(text: str, *, file: str, stem: str) -> Preset:
    """Check preset text; PresetError lists every problem found."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(file, [("(syntax)", str(exc))]) from None
    try:
        preset = Preset.model_validate(raw)
    except ValidationError as exc:
        raise PresetError(
            file, [(location(tuple(e["loc"])) or "(top)", _reason(e)) for e in exc.errors()]
        ) from None
    problems = check_references(preset)
    if preset.preset.name != stem:
        problems.insert(0, ("preset.name", f"must be the file's name {stem!r}"))
    if problems:
        raise PresetError(file, problems)
    return preset


def _reason(error: object) -> str:
    assert isinstance(error, dict)
    if error.get("type") == "extra_forbidden":
        return "unknown key (a typo?)"
    if error.get("type") == "missing":
        return "required key is missing"
    return str(error.get("msg", "invalid value"))
