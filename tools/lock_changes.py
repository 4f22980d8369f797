"""Prints what changed between two lock files: packages added, removed, and moved to another version.

Usage: python -m tools.lock_changes BEFORE AFTER
"""

import re
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    """Package name (normalised as PEP 503 does) to its locked version."""
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in PIN.findall(text)}


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None:
            lines.append(f"added    {name} {new}")
        elif new is None:
            lines.append(f"removed  {name} {old}")
        else:
            lines.append(f"upgraded {name} {old} -> {new}")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m tools.lock_changes BEFORE AFTER\n")
        return 2
    before, after = (pins(Path(path).read_text()) for path in argv)
    for line in changes(before, after) or ["no version changed"]:
        print(line)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
