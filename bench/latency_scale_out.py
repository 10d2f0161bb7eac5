"""The scale-out profile as bench.latency loads it: two Rasa servers and two action servers
behind HAProxy on PostgreSQL, Redis and RabbitMQ, started as `scripts/scale-out` starts them
(tooling/scale_out.py), on ports, databases, a RabbitMQ virtual host and lock keys of the run's
own (bench/scale_out_faults.py makes them), so this machine's shared servers keep their
settings and other runs their data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.scale_out_faults import private_overrides, warm_up
from tooling.scale_out import ScaleOut, scale_out, scale_out_environment

# The run's own databases' prefix, lock-store key prefix and virtual host.
PREFIX = "fincs_latency"


def scale_out_overrides(customers: int, limits: dict[str, str]) -> dict[str, str]:
    overrides = private_overrides(PREFIX)
    # The fault runs shorten the lock's lifetime to see a killed server's conversations go on;
    # nothing is killed here, so the profile keeps Rasa's own.
    del overrides["TICKET_LOCK_LIFETIME"]
    return {**overrides, "SANDBOX_CUSTOMERS": str(customers), **limits}


@contextmanager
def running_profile(
    model: Path, work_dir: Path, customers: int, limits: dict[str, str]
) -> Iterator[tuple[ScaleOut, dict[str, str]]]:
    """The profile with ``customers`` seeded in its back end and the channels' rate
    ``limits``, started and warmed up (a Rasa server's first answer loads parts of the
    model), and stopped whatever happens."""
    environment = scale_out_environment(work_dir, **scale_out_overrides(customers, limits))
    profile = scale_out(environment, model, work_dir)
    try:
        profile.start()
        warm_up(profile)
        yield profile, environment
    finally:
        profile.stop()
