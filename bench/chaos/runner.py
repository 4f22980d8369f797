"""Runs the scenarios (`CHAOS_SCENARIOS=a,c` picks some) and writes bench-results/chaos.json."""

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.chaos.advisor_gone import scenario_advisor_gone
from bench.chaos.daphne_killed import scenario_daphne_killed
from bench.chaos.database_dropped import scenario_database_dropped
from bench.chaos.network_cut import scenario_network_cut
from bench.chaos.redis_restarted import scenario_redis_restarted
from bench.chaos.stack import ROOT, Template, template_database
from bench.chaos.worker_killed import scenario_worker_killed

RESULTS = ROOT / "bench-results"

SCENARIOS: dict[str, Callable[[Template], Awaitable[dict[str, Any]]]] = {
    "a-daphne-sigkill": scenario_daphne_killed,
    "b-redis-restart": scenario_redis_restarted,
    "c-database-dropped": scenario_database_dropped,
    "d-network-cut": scenario_network_cut,
    "e-advisor-past-grace": scenario_advisor_gone,
    "f-celery-worker-killed": scenario_worker_killed,
}


def run_scenario(template: Template, name: str, **sizes: Any) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = asyncio.run(asyncio.wait_for(SCENARIOS[name](template, **sizes), 180))
    except Exception as exc:
        result = {"passed": False, "failures": [f"crashed: {str(exc)[:6000]}"]}
    result["scenario"] = name
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    return result


def describe(result: dict[str, Any]) -> str:
    keys = ("messages_sent", "messages_delivered", "lost", "duplicated", "recovery_ms", "chats_recovered")
    shown = {k: result[k] for k in keys if k in result}
    verdict = "PASS" if result["passed"] else "FAIL " + "; ".join(result["failures"])[:3000]
    return f"{result['scenario']}: {verdict}\n  {json.dumps(shown)}"


def main() -> int:
    chosen = [s.strip() for s in os.environ.get("CHAOS_SCENARIOS", "").split(",") if s.strip()]
    names = [n for n in SCENARIOS if not chosen or any(n == c or n.startswith(f"{c}-") for c in chosen)]
    RESULTS.mkdir(exist_ok=True)
    results = []
    with template_database() as template:
        for name in names:
            result = run_scenario(template, name)
            print(describe(result), flush=True)  # noqa: T201
            results.append(result)
    (RESULTS / "chaos.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {RESULTS / 'chaos.json'}")  # noqa: T201
    return 0 if results and all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
