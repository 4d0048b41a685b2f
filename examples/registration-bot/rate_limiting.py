#!/usr/bin/env python3
"""The seed's tests/test_rate_limiting.sh: 30 requests 0.1 s apart, each status code printed.

Ten a second is well inside the usage plan (25 rps, burst 50): every one is 202.
"""

import time

from _client import api_key, payload, post_json

REQUESTS = 30
PAUSE_SECONDS = 0.1

key = api_key()
print(f"Sending {REQUESTS} requests in quick succession to test rate limiting...")
for i in range(1, REQUESTS + 1):
    print(f"Request {i}")
    print(post_json("/trigger", payload(), key)[0], flush=True)
    time.sleep(PAUSE_SECONDS)
