"""Soak: `python -m bench.soak --minutes 10` (or `make soak`).

Starts its own suite (embedded PostgreSQL, Tansu as devstack runs it, every service and the
gateway as real processes), sends mixed traffic at a moderate rate for the given time
(devstack.soak) and prints a JSON report with the machine's load average. Exit code 1 on any
error or a service whose memory grew more than 10% after warm-up. `--broker-storage disk` runs
Tansu on `devstack.objectstore` instead (experimental: docs/reliability.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

from devstack.infra import ObjectStore, Tansu, start_embedded_postgres
from devstack.soak import soak
from devstack.stack import Stack


async def main(args: argparse.Namespace) -> int:
    home = Path(tempfile.mkdtemp(prefix="soak", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(home / "pg", throwaway=True)
    store = (ObjectStore(home / "broker", log_file=home / "objectstore.log").start()
             if args.broker_storage == "disk" else None)
    broker = Tansu(log_file=home / "tansu.log", store=store).start()
    load_before = os.getloadavg()
    stack = Stack(admin_dsn=admin_dsn, kafka_bootstrap=broker.bootstrap, log_dir=home / "logs",
                  topic_prefix=f"soak{uuid.uuid4().hex[:6]}.")
    try:
        await stack.start()
        pids = {name: stack.pid(name) for name in stack.running}
        report = await soak(stack.gateway_url, seconds=args.minutes * 60, rate_per_s=args.rate,
                            pids=pids)
    finally:
        stack.stop()
        broker.stop()
        if store is not None:
            store.stop()
        del server
    result = report.as_dict()
    result["broker_storage"] = args.broker_storage
    result["load_average"] = {"before": [round(x, 2) for x in load_before],
                              "after": [round(x, 2) for x in os.getloadavg()],
                              "cpus": os.cpu_count()}
    result["machine_note"] = "figures from this machine; see docs/reliability.md"
    print(json.dumps(result, indent=2))
    grown = {n: g for n, g in report.growth().items() if g > 0.10}
    return 1 if report.errors or grown else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--broker-storage", choices=("memory", "disk"), default="memory",
                        help="Tansu in memory (as devstack) or on devstack.objectstore")
    sys.exit(asyncio.run(main(parser.parse_args())))
