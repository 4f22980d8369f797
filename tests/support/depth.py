"""How hard the randomised and stress tests push. `make test` (what CI runs) runs them in full;
`make test-fast` sets TEST_DEPTH=quick for daily work, which runs each with a tenth of its
examples or rounds (never fewer than `floor`): the same properties, checked less widely."""

import os

QUICK = os.environ.get("TEST_DEPTH") == "quick"


def depth(full: int, floor: int = 5) -> int:
    """`full` examples or rounds, or a tenth of them (at least `floor`) in a quick run."""
    return max(min(full, floor), full // 10) if QUICK else full
