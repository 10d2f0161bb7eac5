"""Customers paced as people type: each waits a while between messages (think time).

Run by bench/latency.py in a process of its own, as bench/loadgen.py is (Locust patches the
standard library with gevent as it is imported):

    .venv/bin/python -m bench.latency_paced PLAN.json OUT.json

PLAN.json as bench/loadgen.py's, with "customers": N (users, one conversation each) instead of
"concurrency", "think_seconds": [LOW, HIGH] and no "messages" bound.

Each customer sends the script's next message, waits for the answer, then waits a uniform
LOW-HIGH seconds before the next, as a person reading and typing would. Their first wait is the
time left of a think already under way (see ``first_wait``), so the messages arrive at the
steady rate from the first second instead of all at once. Every message sent within the
window's S seconds is counted with its latency, the slow ones still in flight at the end
included (they are waited for): at a step the assistant cannot keep up with, those are the
tail. Loopback targets only.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import gevent
import psutil
from locust import FastHttpUser, constant, task
from locust.env import Environment
from locust.exception import StopUser

from bench.loadgen import FAILURE_SAMPLES, LOOPBACK


def first_wait(low: float, high: float, chance: random.Random) -> float:
    """How long a customer met at a random moment still waits before their next message.

    A customer seen at a random moment is more likely caught in a long think than a short
    one: the think they are in has the length-biased density (proportional to x on
    [low, high]), and the moment falls uniformly within it. Starting each customer there
    makes the whole crowd's messages a steady stream from the start.
    """
    think = math.sqrt(low**2 + chance.random() * (high**2 - low**2))
    return chance.random() * think


def run(plan: dict[str, Any]) -> dict[str, Any]:
    if urlparse(plan["host"]).hostname not in LOOPBACK:
        raise SystemExit(f"refusing to load {plan['host']}: loopback only")
    conversations = plan["conversations"]
    if len(conversations) < plan["customers"]:
        raise SystemExit("fewer conversations than customers")
    script: list[str] = plan["script"]
    low, high = plan["think_seconds"]
    chance = random.Random(plan.get("seed", 0))
    seats = itertools.count()
    latencies: list[float] = []
    failures: list[str] = []
    sent_per_customer = [0] * plan["customers"]
    window: dict[str, float] = {}
    in_flight = [0]

    class Customer(FastHttpUser):
        host = plan["host"]
        # The think time is taken inside the conversation, between its messages.
        wait_time = constant(0)
        connection_timeout = 10.0
        network_timeout = 120.0

        def on_start(self) -> None:
            self.number = next(seats)
            self.seat = conversations[self.number]
            self.runs = itertools.count()
            self.arrived = False

        def pause(self, seconds: float) -> None:
            gevent.sleep(seconds)
            if "end" in window:
                raise StopUser()

        @task
        def converse(self) -> None:
            if not self.arrived:
                self.arrived = True
                self.pause(first_wait(low, high, chance))
            sender = self.seat["sender"]
            if plan.get("fresh_sender"):
                sender = f"{sender}-{next(self.runs)}"
            for number, message in enumerate(script):
                if number:
                    self.pause(chance.uniform(low, high))
                if "end" in window:
                    raise StopUser()
                sent_per_customer[self.number] += 1
                in_flight[0] += 1
                try:
                    self.say(sender, message)
                finally:
                    in_flight[0] -= 1
            self.pause(chance.uniform(low, high))

        def say(self, sender: str, message: str) -> None:
            with self.client.post(
                plan["path"],
                json={"sender": sender, "message": message},
                headers=self.seat.get("headers") or {},
                name="message",
                catch_response=True,
            ) as response:
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}")
                elif not isinstance(response.json(), list):
                    response.failure("not a list of replies")

    environment = Environment(user_classes=[Customer])
    runner = environment.create_local_runner()

    def stop() -> None:
        """Ends the window: no customer sends again, and the messages sent within it are
        waited for (and counted) before the users stop."""
        window["end"] = time.monotonic()
        while in_flight[0] and time.monotonic() - window["end"] < Customer.network_timeout:
            gevent.sleep(0.05)
        window["drained"] = time.monotonic()
        runner.quit()

    def end_at(moment: float) -> None:
        # By the clock, not gevent's timer alone: its loop's cached time may lag by the time
        # the process spent starting, and would end the window early.
        while (left := moment - time.monotonic()) > 0:
            gevent.sleep(left)
        stop()

    def on_request(response_time: float, exception: Exception | None = None, **_: Any) -> None:
        if exception is None:
            latencies.append(response_time)
        else:
            failures.append(str(exception)[:200])

    environment.events.request.add_listener(on_request)
    me = psutil.Process()
    cpu_before = sum(me.cpu_times()[:2])
    window["start"] = time.monotonic()
    # Every customer is there from the start; their first waits spread their messages out.
    runner.start(plan["customers"], spawn_rate=plan["customers"])
    deadline = gevent.spawn(end_at, window["start"] + plan["seconds"])
    runner.greenlet.join()
    deadline.kill()
    seconds = window["end"] - window["start"]
    return {
        "latencies_ms": latencies,
        "failures": len(failures),
        "failure_samples": sorted(set(failures))[:FAILURE_SAMPLES],
        "seconds": seconds,
        "sent_per_customer": sent_per_customer,
        "drain_seconds": window["drained"] - window["end"],
        "load_generator_cpu_percent": 100
        * (sum(me.cpu_times()[:2]) - cpu_before)
        / (window["drained"] - window["start"]),
    }


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(run(plan)))
    sys.stdout.flush()
    sys.stderr.flush()
    # As bench/loadgen.py: no interpreter teardown under gevent's patched threading.
    os._exit(0)


if __name__ == "__main__":
    main()
