"""Small counts are never published: a count from 1 to settings.FIGURES_SMALL_COUNT - 1 reads
"fewer than N", and where one hidden count of an additive breakdown could be worked out from the
total and the others, the next smallest is hidden too ("not shown")."""

from dataclasses import dataclass

from django.conf import settings


def small_count() -> int:
    return max(1, int(settings.FIGURES_SMALL_COUNT))


@dataclass(frozen=True)
class Shown:
    """One published number: `count` is None when it is hidden as a small count."""

    count: int | None
    share: float | None = None
    # Hidden not for being small but so that a small count beside it cannot be worked out.
    guard: bool = False

    @property
    def hidden(self) -> bool:
        return self.count is None

    def text(self) -> str:
        if self.count is not None:
            return str(self.count)
        return "not shown" if self.guard else f"fewer than {small_count()}"

    def csv(self) -> str:
        if self.count is not None:
            return str(self.count)
        return "x" if self.guard else f"<{small_count()}"

    def share_text(self) -> str:
        return "" if self.share is None else f"{self.share:.1f} %"


def hide_small(counts: list[int], *, additive: bool, total: int) -> list[bool]:
    """Which of these counts to hide. A count from 1 to threshold-1 is hidden. In an additive
    breakdown whose total is shown, one hidden count alone could be worked out by subtraction,
    so the smallest other non-zero count is hidden with it."""
    limit = small_count()
    hidden = [0 < c < limit for c in counts]
    if additive and total >= limit and sum(hidden) == 1:
        others = [(c, i) for i, c in enumerate(counts) if c > 0 and not hidden[i]]
        if others:
            hidden[min(others)[1]] = True
    return hidden


def shown_total(count: int) -> Shown:
    return Shown(None if 0 < count < small_count() else count)
