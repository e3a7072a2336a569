"""One-shot migration step for a container or a Kubernetes Job: `python deploy/migrate.py <package>`.

Applies the kit's and the service's migrations to the service's DATABASE_URL (read by the
service's own Settings, so the same environment as the service itself) and exits. Forward-only
and under an advisory lock, so running it twice or next to a replica is harmless.
"""

from __future__ import annotations

import asyncio
import importlib
import sys

from privacy_kit.db import migrate


def main(package: str) -> int:
    service = importlib.import_module(f"{package}.main")
    settings = importlib.import_module(f"{package}.settings").Settings()
    applied = asyncio.run(
        migrate(settings.database_url, service.MIGRATIONS, namespace=settings.service_name)
    )
    print(f"{settings.service_name}: {len(applied)} migration(s) applied", *applied, sep="\n  ")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python deploy/migrate.py <package>  (e.g. training_records)")
    sys.exit(main(sys.argv[1]))
