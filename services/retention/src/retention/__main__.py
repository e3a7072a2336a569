"""Retention's commands.

    python -m retention verify FILE [--public-key KEY ...]
        Exit 0 when FILE is a genuine erasure (or replay) certificate, as served in a job's
        `certificate`; 1 when it is not (any changed value, key or signature); 2 on bad usage.
        Offline: the trusted key is each --public-key (a PEM file, the JSON of
        GET /v1/erasure-certificates/public-key, or base64 of the raw key), else the
        CERTIFICATE_PUBLIC_KEY environment variable, else the public half of this deployment's
        CERTIFICATE_SIGNING_KEY.

    python -m retention replay --store NAME --since TIME [--by WHO] [--timeout S] [--no-wait]
        After NAME's database was restored from a backup taken at TIME, send NAME every erasure
        completed since TIME again, and wait for its answers. Needs retention's DATABASE_URL and
        REPLAY_KEY; the running retention service publishes the requests and records the answers.
        Exit 0 when every erasure was applied again; 1 when the store has not answered within
        the timeout (the replay stays recorded and completes when it does); 3 when some subject
        erasures could not be sent because their id is past REPLAY_WINDOW_DAYS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from retention import keys
from retention.erasure import certificate

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# The service's modules (FastAPI, the Kafka client) load only when needed: verifying a
# certificate with a given key stays quick and touches nothing but the file.


def _trusted_keys(given: list[str]) -> list[Ed25519PublicKey]:
    if given:
        return [keys.load_public_key(value) for value in given]
    configured = os.environ.get("CERTIFICATE_PUBLIC_KEY")
    if configured:
        return [keys.load_public_key(configured)]
    from retention.settings import Settings

    settings = Settings()
    if settings.certificate_signing_key == keys.DEV_SIGNING_KEY:
        print("note: no --public-key given; trusting the development key, which is public: "
              "this proves nothing about a production certificate", file=sys.stderr)
    return [settings.signing_key.public_key()]


def verify(args: argparse.Namespace) -> int:
    try:
        trusted = _trusted_keys(args.public_key)
    except ValueError as exc:
        print(f"cannot read the public key: {exc}", file=sys.stderr)
        return 2
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        cert = certificate.verify_document(data, trusted)
    except certificate.NotGenuine as exc:
        print(f"NOT GENUINE: {exc}", file=sys.stderr)
        return 1
    what = cert.get("job_id") or cert.get("replay_id")
    print(f"genuine {cert.get('certificate')} certificate {what}, "
          f"completed {cert.get('completed_at')}, signed with {cert.get('key_id')}")
    return 0


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} has no offset: give it as e.g. 2026-11-20T02:00:00Z or +01:00")
    return parsed


async def _replay(args: argparse.Namespace) -> int:
    import asyncpg

    from retention.replay import service as replay
    from retention.settings import Settings

    settings = Settings()
    conn = await asyncpg.connect(settings.database_url)
    try:
        try:
            async with conn.transaction():
                replay_id = await replay.start(
                    conn=conn, store=args.store, since=args.since, requested_by=args.by,
                    cipher=settings.replay_cipher, signing_key=settings.signing_key,
                    deadline=timedelta(seconds=settings.erasure_deadline_s),
                    source=settings.service_name)
        except replay.UnknownStore as exc:
            print(f"no store is called {args.store!r}; {exc}", file=sys.stderr)
            return 2
        state = await replay.get(conn=conn, replay_id=replay_id)
        assert state is not None
        print(f"replay {replay_id}: {state.erasures} erasure(s) since {args.since.isoformat()} "
              f"sent again to {args.store}; {state.skipped} cannot be sent")
        if args.no_wait:
            return 0
        deadline = time.monotonic() + args.timeout
        while state.status != "completed" and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            state = await replay.get(conn=conn, replay_id=replay_id)
            assert state is not None
    finally:
        await conn.close()
    return _outcome(replay_id, state.status, state.pending, state.skipped, state.erased,
                    args.timeout)


def _outcome(replay_id: uuid.UUID, status: str, pending: int, skipped: int, erased: int,
             timeout: float) -> int:
    if status != "completed":
        print(f"{pending} erasure(s) not yet acknowledged by the store after {timeout:g} s; "
              f"the replay stays recorded (GET /v1/erasure-replays/{replay_id}) and completes "
              "when the store answers", file=sys.stderr)
        return 1
    print(f"completed: the store erased {erased} record(s) again")
    if skipped:
        print(f"WARNING: {skipped} subject erasure(s) could not be sent: their id is older than "
              "REPLAY_WINDOW_DAYS; erase those people by hand", file=sys.stderr)
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retention", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="verify an erasure certificate offline")
    check.add_argument("file", metavar="FILE", help="the certificate as JSON ('-' for stdin)")
    check.add_argument("--public-key", action="append", default=[], metavar="KEY",
                       help="a trusted public key: PEM file, key JSON, or base64 (repeatable)")
    again = commands.add_parser("replay", help="apply erasures again to a restored store")
    again.add_argument("--store", required=True, metavar="NAME")
    again.add_argument("--since", required=True, type=_when, metavar="TIME",
                       help="when the restored backup was taken (ISO 8601 with offset)")
    again.add_argument("--by", default=f"cli:{os.environ.get('USER') or 'unknown'}",
                       help="who asks (recorded with the replay)")
    again.add_argument("--timeout", type=float, default=300.0,
                       help="seconds to wait for the store's answers")
    again.add_argument("--no-wait", action="store_true", help="record and send, then return")
    args = parser.parse_args(argv)
    if args.command == "verify":
        return verify(args)
    return asyncio.run(_replay(args))


if __name__ == "__main__":
    sys.exit(main())
