"""The checklist's figures for the supervisors' reports: over the assessments started in a period,
how often each detail was ticked and each other factor named, how many found risks to the
children, and the safeguarding decisions recorded, each by the checklist version (and so the
audience) it was answered against.

Counts only, never content. Small counts are never shown (chat.small_counts): a count from 1 to
the threshold reads "fewer than N"; where a column's lines, with the rest of its base, add up to
its shown total (the safeguarding decisions; the assessments with and without risks to the
children), a hidden count could be worked out by subtraction, so the next smallest is hidden
with it. There is no column of all versions together, so no count can be
worked out from one version's column and the total.

Erased cases leave only their risk levels and referral criteria behind (risk.retention), so these
figures count the cases still kept.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chat.small_counts import Shown, hide_small, shown_total, small_count
from risk.checklist import definition
from risk.models import Assessment, SafeguardingDecision
from risk.scoring import children_at_risk

OTHER_FACTORS = "other_factors"


@dataclass(frozen=True)
class Column:
    version: str
    audience: str

    @property
    def title(self) -> str:
        return f"{self.version} · {self.audience}"


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    cells: list[Shown]


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    base_label: str
    base: list[Shown]
    lines: list[Line]


def _spec(specs: dict[str, dict[str, Any]], version: str) -> dict[str, Any] | None:
    """The version's definition (read once per call into `specs`)."""
    if version not in specs:
        try:
            specs[version] = definition(version).as_dict()
        except LookupError:  # not expected: assessments name published versions, which are kept
            return None
    return specs[version]


def _tally(since: datetime, until: datetime, specs: dict[str, dict[str, Any]]) -> dict[str, Counter[Any]]:
    """Per version: how many assessments, each (item, tick) ticked, each other factor named,
    children at risk, and the decisions (needed or not). `specs` gets each version read."""
    tallies: dict[str, Counter[Any]] = {}
    rows = Assessment.objects.filter(created_at__gte=since, created_at__lt=until)
    for version, answers, professional in rows.values_list("version", "answers", "professional"):
        spec = _spec(specs, version)
        if spec is None:
            continue
        tally = tallies.setdefault(version, Counter())
        tally["assessments"] += 1
        professional = professional or {}
        for item in spec["core"]:
            answer = answers.get(item["key"])
            if item["ticks"] and isinstance(answer, dict) and answer.get("value") == "yes":
                tally.update(("tick", item["key"], tick) for tick in answer.get("ticks") or [])
        tally.update(("factor", option) for option in professional.get(OTHER_FACTORS) or [])
        if children_at_risk(answers, professional):
            tally["children_at_risk"] += 1
    decisions = SafeguardingDecision.objects.filter(
        recorded_at__gte=since, recorded_at__lt=until, assessment__isnull=False
    ).values_list("assessment__version", "needed")
    for version, needed in decisions:
        if _spec(specs, version) is not None:
            tally = tallies.setdefault(version, Counter())
            tally["decisions"] += 1
            tally["needed" if needed else "not_needed"] += 1
    return tallies


def _lines(
    kind: str, columns: list[Column], tallies: dict[str, Counter[Any]], specs: dict[str, Any]
) -> list[tuple[tuple[str, ...], str]]:
    """The lines of ticked details (kind "tick") or other factors ("factor") counted in any
    column, in the order of the first column's version that has them, labelled by it."""
    found: dict[tuple[str, ...], str] = {}
    for column in columns:
        spec = specs[column.version]
        options: list[tuple[tuple[str, ...], str]]
        if kind == "tick":
            options = [
                (("tick", item["key"], tick["key"]), f"{item['label']}: {tick['label']}")
                for item in spec["core"]
                for tick in item["ticks"]
            ]
        else:
            fields = [f for f in spec["professional"] if f["key"] == OTHER_FACTORS]
            options = [(("factor", o["key"]), o["label"]) for f in fields for o in f.get("options", [])]
        for line, label in options:
            if line not in found and any(tallies[c.version][line] for c in columns):
                found[line] = label
    # A key no version defines (not expected: answers are checked against their version).
    for tally in tallies.values():
        for line in tally:
            if isinstance(line, tuple) and line[0] == kind and line not in found:
                found[line] = ": ".join(line[1:])
    return list(found.items())


def _table(
    key: str,
    title: str,
    base_label: str,
    columns: list[Column],
    tallies: dict[str, Counter[Any]],
    base_key: str,
    lines: list[tuple[Any, str]],
    *,
    additive: bool = False,
) -> Table:
    """A table of lines by column. In an additive table the lines of a column, with what the
    base holds beside them (none in the safeguarding decisions; the assessments without risks
    to the children), add up to its base: each column's hiding is decided over them together."""
    base_counts = [tallies[c.version][base_key] for c in columns]
    grid = [[tallies[c.version][line] for c in columns] for line, _ in lines]
    hidden = [[0 < count < small_count() for count in row] for row in grid]
    if additive:
        for j, total in enumerate(base_counts):
            counts = [row[j] for row in grid]
            column_hidden = hide_small([*counts, total - sum(counts)], additive=True, total=total)
            for i in range(len(grid)):
                hidden[i][j] = column_hidden[i]
    return Table(
        key=key,
        title=title,
        base_label=base_label,
        base=[shown_total(count) for count in base_counts],
        lines=[
            Line(
                key=str(line if isinstance(line, str) else ":".join(line)),
                label=label,
                cells=[
                    Shown(None, guard=count >= small_count()) if hide else Shown(count)
                    for count, hide in zip(row, hidden_row, strict=True)
                ],
            )
            for (line, label), row, hidden_row in zip(lines, grid, hidden, strict=True)
        ],
    )


def checklist_figures(*, since: datetime, until: datetime) -> dict[str, Any]:
    """The checklist's figures for assessments started (and decisions recorded) in [since, until)."""
    specs: dict[str, dict[str, Any]] = {}
    tallies = _tally(since, until, specs)
    columns = sorted(
        (Column(version, specs[version]["audience"]["label"]) for version in tallies),
        key=lambda c: (specs[c.version]["audience"]["key"], c.version),
    )
    assessments = "assessments started"
    tables = [
        _table(
            "ticks",
            "Details ticked",
            assessments,
            columns,
            tallies,
            "assessments",
            _lines("tick", columns, tallies, specs),
        ),
        _table(
            "other_factors",
            "Other factors that raise or hide risk",
            assessments,
            columns,
            tallies,
            "assessments",
            _lines("factor", columns, tallies, specs),
        ),
        _table(
            "children",
            "Children",
            assessments,
            columns,
            tallies,
            "assessments",
            [("children_at_risk", "Risks to the children")],
            additive=True,
        ),
        _table(
            "safeguarding",
            "Safeguarding decisions for the children",
            "decisions recorded with an assessment",
            columns,
            tallies,
            "decisions",
            [("needed", "Referral needed"), ("not_needed", "No referral needed")],
            additive=True,
        ),
    ]
    return {"columns": columns, "tables": tables, "threshold": small_count()}
