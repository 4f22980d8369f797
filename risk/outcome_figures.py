"""The MARAC actions of the supervisors' reports: for the meetings held in a period, the actions
agreed with each agency and where they stand now (done, not done, open, overdue).

Counts only, never what an action says. Small counts are never shown (chat.small_counts): each
agency's row adds up (done + not done + open = agreed, shown beside them), so where one of those
three is hidden the next smallest is hidden with it. "Overdue" is part of "open" and hidden on
its own when small. There is no total row, so no hidden count can be worked out down a column.
Erased cases take their actions with them: these figures count the cases still kept.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date

from chat.small_counts import Shown, hide_small, shown_total, small_count
from risk.outcome_models import MaracAction

COLUMNS = ("Agreed", "Done", "Not done", "Open", "Overdue")


@dataclass(frozen=True)
class AgencyLine:
    agency: str
    cells: list[Shown]


def _line(agency: str, tally: Counter[str]) -> AgencyLine:
    agreed = tally["agreed"]
    parts = [tally[MaracAction.Status.DONE], tally[MaracAction.Status.NOT_DONE], tally[MaracAction.Status.OPEN]]
    hidden = hide_small(parts, additive=True, total=agreed)
    limit = small_count()
    cells = [shown_total(agreed)]
    for count, hide in zip(parts, hidden, strict=True):
        cells.append(Shown(None, guard=not 0 < count < limit) if hide else Shown(count))
    cells.append(shown_total(tally["overdue"]))
    return AgencyLine(agency=agency, cells=cells)


@dataclass(frozen=True)
class ActionFigures:
    columns: tuple[str, ...]
    lines: list[AgencyLine]
    threshold: int


def action_figures(start: date, end: date, *, today: date) -> ActionFigures:
    """The actions agreed at meetings heard from `start` to `end`, by agency, as they stand on
    `today`."""
    tallies: dict[str, Counter[str]] = {}
    rows = MaracAction.objects.filter(outcome__heard_on__gte=start, outcome__heard_on__lte=end)
    for agency, status, due_on in rows.values_list("agency_name", "status", "due_on"):
        tally = tallies.setdefault(agency, Counter())
        tally["agreed"] += 1
        tally[status] += 1
        if status == MaracAction.Status.OPEN and due_on < today:
            tally["overdue"] += 1
    return ActionFigures(
        columns=COLUMNS,
        lines=[_line(agency, tallies[agency]) for agency in sorted(tallies, key=str.casefold)],
        threshold=small_count(),
    )


def csv_rows(figures: ActionFigures) -> list[list[str]]:
    return [
        ["marac_actions", f"{line.agency}: {column}", cell.csv()]
        for line in figures.lines
        for column, cell in zip(COLUMNS, line.cells, strict=True)
    ]
