"""Checks the locked Python dependencies against the published vulnerability advisories.

Runs pip-audit over the lock files (hash-checked, nothing installed) against PyPI's advisory data,
then OSV's. Exit status: 0 when no locked version has a known vulnerability, 1 when one does, and 0
with a SKIPPED line when no advisory service answered for any package (an offline machine): a
skipped check is said plainly, never reported as "no known vulnerabilities".
"""

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCKS = ("requirements/runtime.txt", "requirements/dev.txt")
SERVICES = ("pypi", "osv")


@dataclass
class Findings:
    audited: int = 0
    vulnerable: list[str] = field(default_factory=list)
    unaudited: list[str] = field(default_factory=list)


def read_report(report: dict[str, Any]) -> Findings:
    """What one pip-audit JSON report says, package by package."""
    findings = Findings()
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            findings.unaudited.append(dependency["skip_reason"])
            continue
        name = f"{dependency['name']} {dependency['version']}"
        findings.audited += 1
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            findings.vulnerable.append(f"{name}: {vuln.get('id', '?')} (fixed in {fixed})")
    return findings


def audit(lock: Path, service: str) -> Findings:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--disable-pip",
        "--require-hashes",
        "--progress-spinner",
        "off",
        "--format",
        "json",
        "--vulnerability-service",
        service,
        "--requirement",
        str(lock),
    ]
    # pip-audit exits 1 when it finds something; its JSON says what either way.
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        return read_report(json.loads(result.stdout))
    except (json.JSONDecodeError, KeyError, TypeError):
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return Findings(unaudited=[f"pip-audit exit {result.returncode}: {last[:100]}"])


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    vulnerable: set[str] = set()
    for name in LOCKS:
        lock = root / name
        reasons = []
        for service in SERVICES:
            findings = audit(lock, service)
            if findings.audited:
                break
            reasons.append(f"{service}: {findings.unaudited[0] if findings.unaudited else 'nothing audited'}")
        if not findings.audited:
            print(f"SKIPPED {name}: no vulnerability advisory service answered")  # noqa: T201
            for reason in reasons:
                print(f"  {reason}")  # noqa: T201
            continue
        vulnerable.update(findings.vulnerable)
        print(f"{name}: {findings.audited} packages checked against {service}")  # noqa: T201
        for missing in findings.unaudited:
            print(f"  not checked: {missing}")  # noqa: T201
    for line in sorted(vulnerable):
        print(f"VULNERABLE {line}")  # noqa: T201
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
