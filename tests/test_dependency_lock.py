"""The lock files stay in step with pyproject.toml: every declared dependency is pinned, within its
range, with hashes; the dev lock keeps the runtime lock's versions; and the tools that read lock
files and advisories say what they find."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tools.audit_dependencies import read_report
from tools.lock_changes import changes, pins

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = (ROOT / "requirements/runtime.txt").read_text()
DEV = (ROOT / "requirements/dev.txt").read_text()


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(text: str) -> dict[str, str]:
    """Each pinned package's whole entry (pin line, hashes and comments), by normalised name."""
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    return {normalise(re.split(r"[=\[ ]", block, maxsplit=1)[0]): block for block in blocks if "==" in block}


@pytest.mark.parametrize(
    ("declared", "lock"),
    [(PROJECT["dependencies"], RUNTIME), (PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"], DEV)],
    ids=["runtime", "dev"],
)
def test_every_declared_dependency_is_pinned_within_its_range_with_hashes(declared: list[str], lock: str) -> None:
    locked, blocks = pins(lock), entries(lock)
    for line in declared:
        requirement = Requirement(line)
        name = normalise(requirement.name)
        assert name in locked, f"{name} is declared in pyproject.toml but not locked: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{name}=={locked[name]} is outside {requirement.specifier}: run `make lock`"
        )
    for name, block in blocks.items():
        assert "--hash=sha256:" in block, f"{name} is locked without a hash"


def test_the_dev_lock_keeps_the_runtime_versions() -> None:
    runtime, dev = pins(RUNTIME), pins(DEV)
    assert {name: dev.get(name) for name in runtime} == runtime


def test_lock_changes_names_each_kind_of_change() -> None:
    before = pins("django==5.2.1 \\\n    --hash=sha256:aa\nredis==8.2.0 \\\nold-thing==1.0\n")
    after = pins("Django==5.2.3 \\\nredis==8.2.0 \\\nnew_thing==2.0 ; sys_platform == 'win32'\n")
    assert changes(before, after) == [
        "upgraded django 5.2.1 -> 5.2.3",
        "added    new-thing 2.0",
        "removed  old-thing 1.0",
    ]


def test_an_advisory_report_is_read_package_by_package() -> None:
    # The shape of `pip-audit --format json`.
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.0", "vulns": [{"id": "PYSEC-1", "fix_versions": ["5.2.1"]}]},
            {"name": "redis", "version": "8.2.0", "vulns": []},
            {"name": "amqp", "skip_reason": "Dependency not found on PyPI and could not be audited: amqp (5.4.2)"},
        ],
        "fixes": [],
    }
    findings = read_report(report)
    assert findings.audited == 2
    assert findings.vulnerable == ["django 5.2.0: PYSEC-1 (fixed in 5.2.1)"]
    assert findings.unaudited == ["Dependency not found on PyPI and could not be audited: amqp (5.4.2)"]


def test_a_report_that_audited_nothing_is_not_a_clean_report() -> None:
    findings = read_report({"dependencies": [{"name": "amqp", "skip_reason": "not found"}]})
    assert findings.audited == 0
    assert findings.vulnerable == []
