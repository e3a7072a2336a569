"""The one-shot topics step: `python -m privacy_kit.topics` creates every topic before services start.

Reads the same environment as a service (broker, TLS/SASL, TOPIC_PREFIX, TOPIC_PARTITIONS,
TOPIC_REPLICATION_FACTOR, TOPIC_MIN_INSYNC_REPLICAS), waits for the broker up to
`--wait` seconds, creates what is missing and leaves existing topics alone. With `--check` it
creates nothing and exits 1 when a topic is missing. Production runs it once per release (a
compose service, a Kubernetes Job) and services never create topics there themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from privacy_kit.kafka import ensure_topics, wanted_topics
from privacy_kit.settings import ServiceSettings


async def run(settings: ServiceSettings, *, check: bool, wait_s: float) -> int:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            missing = await ensure_topics(settings, create=not check)
            break
        except Exception as exc:
            if time.monotonic() >= deadline:
                print(f"topics: broker unreachable: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 2
            print(f"topics: waiting for the broker ({type(exc).__name__})", file=sys.stderr)
            await asyncio.sleep(2)
    for topic in wanted_topics(settings):
        state = ("missing" if check else "created") if topic.name in missing else "exists"
        print(f"{topic.name}: {state} (partitions {topic.num_partitions}, "
              f"replication {topic.replication_factor})")
    return 1 if check and missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy_kit.topics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="create nothing; 1 if any is missing")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the broker")
    args = parser.parse_args(argv)
    return asyncio.run(run(ServiceSettings(), check=args.check, wait_s=args.wait))


if __name__ == "__main__":
    sys.exit(main())
