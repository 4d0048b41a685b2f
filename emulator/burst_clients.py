"""A burst of API clients, run by `make bench` in a process of its own, as users' are.

Clients in the stack's own process would share its GIL: the benchmark would measure
its clients (a new session, connection and token for every request) as much as the API.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from notify.domain.tokens import mint_token

ANSWER_TIMEOUT_SECONDS = 30  # longer than API Gateway's 29 s integration timeout


def burst(
    api: str, secret: str, api_key: str, body: dict[str, Any], size: int, clients: int
) -> tuple[list[float], dict[str, int], list[str]]:
    """`size` POSTs of `body` from `clients` threads, each minting a fresh token every
    second: every answer's time (ms), the statuses ("none": no answer in 30 s), and the
    TraceIds accepted."""
    times: list[float] = []
    statuses: Counter[str] = Counter()
    accepted: list[str] = []

    def one(_: int) -> None:
        token = mint_token(secret, f"burst-{int(time.time())}")
        headers = {"Authorization": f"Bearer {token}", "x-api-key": api_key}
        trace_id = f"burst-{uuid.uuid4()}"
        started = time.perf_counter()
        try:
            response = requests.post(
                api,
                json=body | {"TraceId": trace_id},
                headers=headers,
                timeout=ANSWER_TIMEOUT_SECONDS,
            )
            status = str(response.status_code)
        except requests.Timeout:
            status = "none"
        times.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
        if status == "202":
            accepted.append(trace_id)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(size)))
    return times, dict(statuses), accepted
