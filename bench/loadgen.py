"""Closed-loop load of scripted conversations on a Rasa REST channel, with Locust as a library.

Run by bench/latency.py in a process of its own, since Locust patches the standard library
with gevent as it is imported:

    .venv/bin/python -m bench.loadgen PLAN.json OUT.json

PLAN.json: {"host": "http://127.0.0.1:PORT", "path": "/webhooks/.../webhook",
"conversations": [{"sender": ..., "headers": {...}}, ...] (one per concurrent user),
"script": [messages of one conversation], "fresh_sender": true to give each run of the script
a sender id of its own, "concurrency": N, "seconds": S, "messages": M}.

N users each hold one conversation and send its next message as soon as the last one is
answered (no think time), so messages per second is what the assistant serves at N open
conversations. The run stops by itself at S seconds or M answered messages, whichever is first;
messages still in flight then are not counted. Loopback targets only.
"""

from __future__ import annotations

import itertools
import json
import os
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

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
FAILURE_SAMPLES = 5


def run(plan: dict[str, Any]) -> dict[str, Any]:
    if urlparse(plan["host"]).hostname not in LOOPBACK:
        raise SystemExit(f"refusing to load {plan['host']}: loopback only")
    conversations = plan["conversations"]
    if len(conversations) < plan["concurrency"]:
        raise SystemExit("fewer conversations than concurrent users")
    script: list[str] = plan["script"]
    seats = itertools.count()
    latencies: list[float] = []
    failures: list[str] = []  # one line per failed message
    window: dict[str, float] = {}
    in_flight = [0]

    class Conversation(FastHttpUser):
        host = plan["host"]
        wait_time = constant(0)
        connection_timeout = 10.0
        network_timeout = 120.0

        def on_start(self) -> None:
            self.seat = conversations[next(seats)]
            self.runs = itertools.count()

        @task
        def converse(self) -> None:
            sender = self.seat["sender"]
            if plan.get("fresh_sender"):
                sender = f"{sender}-{next(self.runs)}"
            for message in script:
                if "end" in window:
                    raise StopUser()
                in_flight[0] += 1
                try:
                    self.say(sender, message)
                finally:
                    in_flight[0] -= 1

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

    environment = Environment(user_classes=[Conversation])
    runner = environment.create_local_runner()

    def stop() -> None:
        """Ends the measured window; messages in flight are answered (uncounted), not cut, so
        the servers see no aborted requests, then the users are stopped."""
        if "end" in window:
            return
        window["end"] = time.monotonic()
        while in_flight[0] and time.monotonic() - window["end"] < Conversation.network_timeout:
            gevent.sleep(0.05)
        runner.quit()

    def on_request(response_time: float, exception: Exception | None = None, **_: Any) -> None:
        # Locust starts the users one after another over about a second: the window opens once
        # every one of them is talking, so a level is measured at its full concurrency only.
        if "start" not in window or "end" in window:
            return
        if exception is None:
            latencies.append(response_time)
        else:
            failures.append(str(exception)[:200])
        if len(latencies) + len(failures) >= plan["messages"]:
            gevent.spawn(stop)

    me = psutil.Process()
    cpu_before = [0.0]
    deadline: list[gevent.Greenlet] = []

    def open_window(**_: Any) -> None:
        cpu_before[0] = sum(me.cpu_times()[:2])
        window["start"] = time.monotonic()
        deadline.append(gevent.spawn_later(plan["seconds"], stop))

    environment.events.request.add_listener(on_request)
    environment.events.spawning_complete.add_listener(open_window)
    runner.start(plan["concurrency"], spawn_rate=plan["concurrency"])
    runner.greenlet.join()
    for greenlet in deadline:
        greenlet.kill()
    seconds = window["end"] - window["start"]
    return {
        "latencies_ms": latencies,
        "failures": len(failures),
        "failure_samples": sorted(set(failures))[:FAILURE_SAMPLES],
        "seconds": seconds,
        "load_generator_cpu_percent": 100 * (sum(me.cpu_times()[:2]) - cpu_before[0]) / seconds,
        "locust_cpu_warning": bool(runner.cpu_warning_emitted),
    }


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(run(plan)))
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave without the interpreter's teardown, where gevent's patched threading makes
    # logging's finalizers print "greenlet is being finalized" tracebacks.
    os._exit(0)


if __name__ == "__main__":
    main()
