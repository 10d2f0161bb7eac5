"""bench.latency's scale-out and paced runs: the ramp that finds how many paced customers an
assistant serves, the results file whose sections each run replaces alone, and a smoke-sized
run of both on the scale-out profile, the embedded one and stock `rasa init`.

Benchmarks are not timed tests: these check what the results file says, never a speed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.latency import PROJECT, SCALE_OUT, STOCK, ramp
from bench.latency_report import sections_of, write_section
from tests.benchmark_runs import PROVENANCE_FIELDS, run_benchmark, table_rows
from tests.e2e.production_services import require_scale_out_servers

MADE = {"date": "2026-11-30 21:40 UTC", "commit": "abc1234", "cores": "2", "command": "x"}


def test_the_ramp_stops_at_the_first_step_not_served_and_tries_halfway_below():
    tried: list[int] = []

    def served_below_170(customers: int) -> bool:
        tried.append(customers)
        return customers < 170

    assert ramp([50, 100, 200, 400], served_below_170, refine=True) == 150
    assert tried == [50, 100, 200, 150]


def test_the_ramp_reports_the_last_step_served_when_halfway_is_not():
    assert ramp([50, 100, 200, 400], lambda customers: customers < 120, refine=True) == 100
    assert ramp([50, 100, 200], lambda customers: customers < 120, refine=False) == 100


def test_the_ramp_reports_none_served_and_every_step_served():
    assert ramp([50, 100], lambda customers: False, refine=True) == 0
    assert ramp([50, 100], lambda customers: True, refine=True) == 100


def test_a_run_replaces_its_own_section_and_keeps_the_others(tmp_path: Path):
    out = tmp_path / "latency.md"
    write_section(out, "paced", "paced figures v1", {**MADE, "command": "paced"}, "1.0", "2.0")
    write_section(out, "closed", "closed figures", {**MADE, "command": "closed"}, "0.5", "1.5")
    write_section(out, "paced", "paced figures v2", {**MADE, "command": "paced2"}, "3.0", "4.0")

    text = out.read_text()
    sections = sections_of(text)
    assert list(sections) == ["closed", "paced"]  # the file's order, not the runs'
    assert "closed figures" in sections["closed"] and "`closed`" in sections["closed"]
    assert "paced figures v2" in sections["paced"] and "paced figures v1" not in text
    assert "- load average (1, 5, 15 min): 3.0 before the servers started" in sections["paced"]
    for field in PROVENANCE_FIELDS:
        assert field in sections["closed"] and field in sections["paced"]


@pytest.mark.bench
@pytest.mark.e2e
@pytest.mark.postgres
def test_latency_smoke_loads_the_scale_out_profile_and_paced_customers(tmp_path: Path):
    require_scale_out_servers()
    out = tmp_path / "latency-smoke.md"

    # One closed-loop level and one paced step, each a few seconds, on the three assistants.
    arguments = ("--smoke", "--scale-out", "--paced", "--concurrency", "2", "--out", str(out))
    run_benchmark("bench.latency", *arguments, timeout=900)

    sections = sections_of(out.read_text())
    assert list(sections) == ["scale-out", "paced"]
    assistants = {PROJECT, SCALE_OUT, STOCK}
    for text in sections.values():
        for field in PROVENANCE_FIELDS:
            assert field in text
        assert "bench.latency --smoke --scale-out --paced --concurrency 2 --out" in text
        assert "- load average (1, 5, 15 min): " in text
        assert "Errors in the servers' logs during the run: 0." in text
        # Both profiles' conversations ran custom actions against their back ends.
        assert text.count("Here are your bank balances") == 2
    closed = {(row[0], row[1]): row for row in table_rows(sections["scale-out"]) if row[0] == "2"}
    assert set(closed) == {("2", name) for name in assistants}
    paced = {row[1]: row for row in table_rows(sections["paced"]) if row[0] == "3"}
    assert set(paced) == assistants
    for row in [*closed.values(), *paced.values()]:
        answered, failed = int(row[2]), int(row[3])
        assert answered > 0 and failed == 0, row
        assert all(cell.endswith(" ms") for cell in row[4:7]), row  # p50, p95, p99
    for row in paced.values():
        fewest = int(row[8].split(" / ")[0])
        assert fewest >= 2, row  # every customer sent several messages within the step
    served = {row[0]: row for row in table_rows(sections["paced"]) if row[0] in assistants}
    assert set(served) == assistants
    rasa = sections["paced"]
    assert "up to 50,000 concurrent users" in rasa
    assert "legacy-docs-oss.rasa.com/docs/rasa/monitoring/load-testing-guidelines" in rasa
