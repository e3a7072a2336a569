"""Write or check the JSON Schema of every event type: `docs/events/<type>.json`.

    python -m privacy_kit.schemas docs/events          # (re)write the files
    python -m privacy_kit.schemas --check docs/events  # exit 1 when a file differs or is missing
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from privacy_kit.protocol import EVENTS, json_schema


def rendered() -> dict[str, str]:
    """File name -> file text, for every event type of the protocol."""
    return {
        f"{event_type}.json": json.dumps(json_schema(model), indent=2, sort_keys=True) + "\n"
        for event_type, model in sorted(EVENTS.items())
        if model.__module__ == "privacy_kit.protocol"  # not models that tests define
    }


def differences(directory: Path) -> list[str]:
    wanted = rendered()
    problems = []
    for name, text in wanted.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name} is missing")
        elif path.read_text() != text:
            problems.append(f"{name} differs from the model")
    for path in sorted(directory.glob("*.json")):
        if path.name not in wanted:
            problems.append(f"{path.name} has no event type in the protocol")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy_kit.schemas")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        problems = differences(args.directory)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("regenerate with: python -m privacy_kit.schemas docs/events", file=sys.stderr)
        return 1 if problems else 0
    args.directory.mkdir(parents=True, exist_ok=True)
    for path in args.directory.glob("*.json"):
        path.unlink()
    for name, text in rendered().items():
        (args.directory / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
