"""Security probes against the running assistant: one per finding of the hardening issue (14).

Starts, on loopback and free ports, the assistant as `scripts/run` does in the embedded profile
(sandbox, action server, Rasa server, agent desk, web chat page) but with fresh random secrets
in place of the profile's public dev values, then runs each probe of bench/security_probes.py:
forged calls to the action server, services started for production with the dev secrets,
card numbers and codes planted through every channel and searched for in every file the run
wrote, floods and password bursts, sessions after expiry and sign-out, bad input, requests
changed between confirmation and code, and Rasa's telemetry setting. Each probe is recorded
as `held`, `fell` or `error` (the probe could not get to its point) with what came back, in
bench/results/security.md (--smoke: a representative subset into security-smoke.md, or --out).
Whatever happens, every server it started is stopped at the end.

    .venv/bin/python -m bench.security [--smoke] [--only 1.2 3.1 ...] [--model PATH]
        [--out PATH]
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

from bench.report import RESULTS_DIR, provenance_fields, write_results
from bench.security_probes import PROBES, Lab, Probe, ProbeError, brief, dev_secrets
from common.environment import PROJECT_ROOT
from common.ports import free_port
from tests.e2e.servers import running_assistant
from tooling.model_cache import ensure_model
from tooling.processes import webchat_server

WORK_DIR = PROJECT_ROOT / ".cache" / "bench" / "security"
# Enough synthetic customers that every probe talks as a customer of its own.
SANDBOX_CUSTOMERS = 120
FINDINGS = {
    1: "The action server answers anyone",
    2: "Public default secrets",
    3: "Card numbers, CVVs and codes stored in clear",
    4: "One customer can stall everyone; no rate limits",
    5: "Sessions outlive their tokens",
    6: "Bad input that still breaks",
    7: "What the customer confirmed is not what runs",
    8: "One refusal locks the customer out",
    9: "Telemetry and crash reporting on",
}


def run_probe(probe: Probe, lab: Lab) -> dict[str, str]:
    print(f"{probe.ref} {probe.title}", flush=True)
    started = time.monotonic()
    try:
        verdict = probe.check(lab)
        outcome, evidence = ("held" if verdict.held else "fell"), verdict.evidence
    except ProbeError as error:
        outcome, evidence = "error", str(error)
    except Exception as error:  # a broken probe must not stop the others
        where = traceback.extract_tb(error.__traceback__)[-1]
        outcome = "error"
        evidence = (
            f"{type(error).__name__}: {error} (at {Path(where.filename).name}:{where.lineno})"
        )
    print(f"  {outcome} in {time.monotonic() - started:.0f} s: {brief(evidence, 200)}", flush=True)
    return {"ref": probe.ref, "outcome": outcome, "evidence": evidence}


def cell(text: str) -> str:
    return brief(text, 400).replace("|", "/")


def render(
    probes: list[Probe],
    results: dict[str, dict[str, str]],
    smoke: bool,
    model: Path,
    minutes: float,
) -> str:
    counts = {
        outcome: sum(r["outcome"] == outcome for r in results.values())
        for outcome in ("held", "fell", "error")
    }
    parts = []
    if smoke:
        parts.append(
            "**Smoke run**: a representative subset of the probes. It checks that "
            "the harness works; the full run is the record.\n"
        )
    parts.append(
        f"{counts['held']} of {len(results)} probes held, {counts['fell']} fell, "
        f"{counts['error']} could not get to their point (error).\n"
    )
    parts.append("| finding | probe | expected | outcome | evidence |\n|---|---|---|---|---|")
    for probe in sorted(probes, key=lambda p: [int(n) for n in p.ref.split(".")]):
        result = results[probe.ref]
        parts.append(
            f"| {probe.finding}. {FINDINGS[probe.finding]} | {probe.ref} "
            f"{cell(probe.title)} | {cell(probe.expected)} | **{result['outcome']}** "
            f"| {cell(result['evidence'])} |"
        )
    parts.append(f"""
## How it ran

- The assistant as `scripts/run` starts it (embedded profile: SQLite tracker store and event \
broker, in-memory lock store) with model {model.name}, the sandbox seeded with \
{SANDBOX_CUSTOMERS} synthetic customers, each probe talking as customers of its own; every \
secret ({", ".join(sorted(dev_secrets()))}) set to a fresh random value instead of the \
profile's public dev value, so that probes with the dev values play an outsider.
- Servers on 127.0.0.1 only; floods and bursts come from 127.0.0.3 and the customer whose \
latency is measured from 127.0.0.2, so that each is a client address of its own.
- "Refused" is any 4xx; "not stored" is a byte search of every file the run wrote (tracker \
store, event broker, desk database, logs; not the sandbox's own database, whose phone inbox \
keeps the codes it sends); "not done" is read back from the sandbox.
- Run time: {minutes:.1f} minutes.""")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a representative subset of the probes: checks the harness",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="REF",
        help="run only these probes (e.g. 1.2 3.1); for trying one out",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a trained model to run instead of the one of the current data "
        "(default: that one, trained if missing)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results file (default bench/results/security[-smoke].md)",
    )
    args = parser.parse_args()
    probes = [
        p
        for p in PROBES
        if (not args.smoke or p.smoke) and (args.only is None or p.ref in args.only)
    ]
    partial = args.smoke or args.only is not None
    out = args.out or RESULTS_DIR / f"security{'-smoke' if partial else ''}.md"
    # A stop asked from outside (Ctrl-C, SIGTERM) still unwinds through every `finally`
    # below, so no server is left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    # The code that ran is the code at the start, whatever is edited while the run goes on.
    made = provenance_fields()
    model = args.model or ensure_model()
    work = WORK_DIR / ("smoke" if partial else "full")
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    started = time.monotonic()
    real_secrets = {name: secrets.token_urlsafe(24) for name in dev_secrets()}
    results: dict[str, dict[str, str]] = {}
    print("starting the servers", flush=True)
    with running_assistant(
        model,
        work / "logs",
        DEPLOYMENT_PROFILE="embedded",
        TRACKER_STORE_URL=f"sqlite:///{work / 'tracker.db'}",
        EVENT_BROKER_URL=f"sqlite:///{work / 'events.db'}",
        SANDBOX_CUSTOMERS=str(SANDBOX_CUSTOMERS),
        **real_secrets,
    ) as running:
        webchat = webchat_server(free_port(), running.environment)
        webchat.log_dir = work / "logs"
        try:
            webchat.start().wait_until_ready()
            lab = Lab(
                running, webchat.ready_url.removesuffix("/health"), work, model, SANDBOX_CUSTOMERS
            )
            for probe in sorted(probes, key=lambda p: p.stage):
                results[probe.ref] = run_probe(probe, lab)
        finally:
            webchat.stop()
    title = "Security probes against the running assistant (issue 14)"
    print(
        write_results(
            "security",
            title,
            render(probes, results, args.smoke, model, (time.monotonic() - started) / 60),
            out,
            made=made,
        )
    )


if __name__ == "__main__":
    main()
