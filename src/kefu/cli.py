"""The `kefu` command: serve, migrate, reindex, worker, demo, create-admin, simulate, preset."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from kefu.presets.cli import app as preset_app

app = typer.Typer(help="kefu — customer-service center platform", no_args_is_help=True, add_completion=False)
app.add_typer(preset_app, name="preset")


def _setup() -> None:
    from kefu.db import db
    from kefu.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db.configure(get_settings().resolved_database_url())


@app.command()
def migrate() -> None:
    """Bring the database schema up to date and make sure the built-ins exist."""
    from kefu import bootstrap
    from kefu.db import db
    from kefu.migrate import upgrade

    _setup()
    assert db.engine is not None
    upgrade(db.engine)
    with db.unit_of_work() as session:
        bootstrap.ensure_builtins(session)
    typer.echo("database is up to date")


@app.command()
def reindex(
    kind: Annotated[str, typer.Option(help="Only this kind of document: tickets, knowledge")] = "",
) -> None:
    """Rebuild the full-text index and the tickets' customer-name keys from the data: after an
    upgrade that made something searchable, or a bulk import that bypassed the services."""
    import kefu.knowledge.indexing  # noqa: F401 — each module registers how its kind is re-indexed
    from kefu.core import search
    from kefu.db import db
    from kefu.tickets import finder

    _setup()
    known = sorted(search.registered_kinds())
    if kind and kind not in known:
        raise typer.BadParameter(f"choose one of {', '.join(known)}", param_hint="--kind")
    with db.unit_of_work() as session:
        keys = finder.rebuild_name_keys(session) if kind in ("", finder.KIND) else 0
        documents = search.reindex(session, kind or None)
    typer.echo(f"{documents} documents indexed, name keys of {keys} tickets written")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (server mode)")] = 1,
) -> None:
    """Run the web application."""
    import uvicorn

    from kefu.settings import get_settings

    logging.basicConfig(level=logging.INFO)
    settings = get_settings()
    if workers > 1 and not settings.server_mode:
        raise typer.BadParameter("several workers need server mode (KEFU_REDIS_URL and PostgreSQL)")
    uvicorn.run("kefu.asgi:app", host=host, port=port, workers=workers, proxy_headers=False, log_level="info")


@app.command()
def worker(threads: Annotated[int, typer.Option(help="Worker threads")] = 4) -> None:
    """Consume background jobs and run periodic tasks (server mode)."""
    from kefu.core import jobs

    _setup()
    import kefu.tasks  # noqa: F401 — registers every task

    consumer = jobs.start_consumer(workers=threads, embedded=False)
    consumer.run()


@app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create an administrator account (holds the built-in all-permissions role)."""
    from kefu import bootstrap
    from kefu.core import security
    from kefu.db import db
    from kefu.org.models import User

    _setup()
    problems = security.password_problems(password, username=username, min_length=8)
    if problems:
        message, values = problems[0]
        raise typer.BadParameter(message % values)
    with db.unit_of_work() as session:
        role = bootstrap.ensure_builtins(session)
        user = User(
            username=username,
            name=name,
            password_hash=security.hash_password(password),
            must_change_password=False,
            roles=[role],
        )
        session.add(user)
    typer.echo(f"administrator {username} created")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server afterwards")] = True,
    preset: Annotated[
        str,
        typer.Option(
            help="Industry preset: satellite, cabletv, water, mobile, securities; all = the generic demo "
            "and every preset"
        ),
    ] = "all",
) -> None:
    """Create the demo organisation (idempotent), print its accounts, and start the server."""
    from kefu import demo as demo_data
    from kefu.presets import files as preset_files

    shipped = preset_files.names()
    if preset not in [*shipped, "all"]:
        raise typer.BadParameter(f"choose one of {', '.join([*shipped, 'all'])}", param_hint="--preset")
    migrate()
    from kefu.db import db

    try:
        with db.unit_of_work() as session:
            accounts = demo_data.seed(
                session, generic=preset == "all", presets=shipped if preset == "all" else [preset]
            )
    except preset_files.PresetError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo("\nDemo accounts (account / password / role):")
    for username, password, role in accounts:
        typer.echo(f"  {username:<14} {password:<16} {role}")
    typer.echo(f"\nOpen http://{host}:{port}/ in a browser.\n")
    if serve_:
        serve(host=host, port=port, workers=1)


@app.command()
def simulate(
    url: Annotated[str, typer.Option(help="The running kefu")] = "http://127.0.0.1:8000",
    token: Annotated[
        str, typer.Option(help="API token of a user with callcenter.cti.report", envvar="KEFU_CTI_TOKEN")
    ] = "",
    create_token: Annotated[
        bool,
        typer.Option(
            "--create-token", help="Make a token of the cti-simulator user in the configured database"
        ),
    ] = False,
    queue: Annotated[str, typer.Option(help="Code of the queue the callers wait in")] = "hotline",
    rate: Annotated[float, typer.Option(help="Calls per hour (Poisson arrivals)")] = 60.0,
    duration: Annotated[str, typer.Option(help="Simulated time of arrivals: 90s, 10m, 1h")] = "10m",
    aht: Annotated[float, typer.Option(help="Mean handling (talk) time in seconds")] = 180.0,
    aht_sd: Annotated[
        float | None, typer.Option(help="Standard deviation: log-normal handling times")
    ] = None,
    patience: Annotated[
        float, typer.Option(help="Mean patience in seconds (exponential); 0: infinite")
    ] = 60.0,
    speed: Annotated[float, typer.Option(help="Time scale: 1 real time, 60 a minute per second")] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same callers)")] = 1,
    auto_answer: Annotated[
        bool, typer.Option("--auto-answer", help="Simulated agents answer the calls")
    ] = False,
    agents: Annotated[int, typer.Option(help="With --auto-answer: how many agents answer")] = 2,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the planned calls, send nothing")] = False,
    concurrency: Annotated[
        int, typer.Option(help="Requests in flight at once (1 for the embedded SQLite server)")
    ] = 1,
) -> None:
    """Drive the CTI API with simulated callers and print the figures with Erlang C's prediction."""
    import asyncio

    from kefu.callcenter import simulate_cli, traffic

    try:
        options = simulate_cli.Options(
            url=url,
            token=token,
            queue=queue,
            rate=rate,
            duration=traffic.parse_duration(duration),
            aht=aht,
            aht_sd=aht_sd,
            patience=patience,
            speed=speed,
            seed=seed,
            auto_answer=auto_answer,
            agents=agents,
            dry_run=dry_run,
            concurrency=concurrency,
        )
        options.validate()
    except (ValueError, simulate_cli.SimulationError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    session_factory = None
    if create_token:
        from kefu.db import db

        _setup()
        logging.getLogger().setLevel(logging.WARNING)
        session_factory = db.session
        if not dry_run:
            options.token = simulate_cli.simulator_token(session_factory)
    try:
        asyncio.run(simulate_cli.simulate(options, session_factory=session_factory, echo=typer.echo))
    except simulate_cli.SimulationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


if __name__ == "__main__":
    app()
