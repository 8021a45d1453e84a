"""`kefu preset …`: list the shipped presets, check a preset file, load one into the database."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Industry demo presets (configuration only, one TOML file each).", no_args_is_help=True
)


def _fail(error: Exception) -> typer.Exit:
    typer.echo(str(error), err=True)
    return typer.Exit(1)


@app.command("list")
def list_presets() -> None:
    """The shipped presets with their titles."""
    from kefu.presets import files

    for name in files.names():
        typer.echo(f"{name:<12} {files.read(name).preset.title}")


@app.command()
def check(
    name: Annotated[str, typer.Argument(help="A shipped preset's name or a path to a .toml file")],
) -> None:
    """Check a preset file without touching a database: every problem with its key and reason."""
    from kefu.presets import files

    try:
        preset = files.read(name)
    except files.PresetError as exc:
        raise _fail(exc) from None
    typer.echo(f"{name}: ok ({preset.preset.title})")


@app.command()
def load(
    name: Annotated[str, typer.Argument(help="A shipped preset's name or a path to a .toml file")],
) -> None:
    """Load a preset into the configured database, over the demo organisation (idempotent)."""
    from kefu import demo
    from kefu.cli import migrate
    from kefu.db import db
    from kefu.presets import files

    try:
        files.read(name)
    except files.PresetError as exc:
        raise _fail(exc) from None
    migrate()
    try:
        with db.unit_of_work() as session:
            accounts = demo.seed(session, generic=False, presets=[name])
    except files.PresetError as exc:
        raise _fail(exc) from None
    typer.echo(f"preset {name} loaded; accounts (account / password / role):")
    for username, password, role in accounts:
        typer.echo(f"  {username:<14} {password:<16} {role}")
