"""Parses texts with trained NLU models, one message at a time, timing each parse.

Run in a subprocess by bench/nlu_public.py so that TensorFlow stays out of the harness:

    .venv/bin/python -m bench.nlu_parse JOBS.json

JOBS.json lists {"model", "parts": [{"texts", "out"}, ...]}: each model is loaded once with
rasa's Agent, a few texts are parsed untimed to warm it up, then every text of each part's
``texts`` (a JSON list of strings) is parsed and its ``out`` gets, per text, the classifier's
best intent and confidence (ignoring nlu_fallback, which FallbackClassifier puts in front of
them), the runner-up's confidence, the first few of the ranking, the intent the model as
configured returned (nlu_fallback included) and the parse seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

WARM_UP_PARSES = 5
# Enough of the ranking for the clarification's buttons.
RANKING_KEPT = 6
FALLBACK = "nlu_fallback"


async def parse_all(agent: Any, texts: list[str]) -> list[dict[str, Any]]:
    parsed = []
    for text in texts:
        started = time.perf_counter()
        result = await agent.parse_message(text)
        seconds = time.perf_counter() - started
        ranking = [
            entry for entry in result.get("intent_ranking") or [] if entry.get("name") != FALLBACK
        ]
        best = ranking[0] if ranking else {"name": None, "confidence": 0.0}
        parsed.append(
            {
                "intent": best["name"],
                "confidence": float(best["confidence"]),
                "runner_up": float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0,
                "as_configured": (result.get("intent") or {}).get("name"),
                "ranking": [
                    {"name": entry["name"], "confidence": float(entry["confidence"])}
                    for entry in ranking[:RANKING_KEPT]
                ],
                "seconds": seconds,
            }
        )
    return parsed


async def parse_parts(model: str, parts: list[list[str]]) -> list[list[dict[str, Any]]]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Rasa's per-message debug lines would otherwise be printed, and timed, with every parse.
    configure_structlog(logging.WARNING)
    agent = Agent.load(model)
    results = []
    for texts in parts:
        for text in texts[:WARM_UP_PARSES]:
            await agent.parse_message(text)
        results.append(await parse_all(agent, texts))
    return results


def main() -> None:
    for job in json.loads(Path(sys.argv[1]).read_text()):
        parts = [json.loads(Path(part["texts"]).read_text()) for part in job["parts"]]
        results = asyncio.run(parse_parts(job["model"], parts))
        for part, parsed in zip(job["parts"], results, strict=True):
            Path(part["out"]).write_text(json.dumps(parsed))
        print(f"parsed {sum(map(len, parts))} texts with {job['model']}", flush=True)


if __name__ == "__main__":
    main()
