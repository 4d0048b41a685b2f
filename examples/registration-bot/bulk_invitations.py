#!/usr/bin/env python3
"""The seed's tests/test_bulk_invitations.sh: 25 players invited in parallel, 0.05 s apart.

Each answer is printed as it arrives; each accepted invitation is sent exactly once
(`messaging outbox` against the local stack; `GET /requests/<request_id>` anywhere).
"""

import threading
import time

from _client import api_key, payload, post_json

PLAYERS = 25
STAGGER_SECONDS = 0.05

key = api_key()
printing = threading.Lock()


def invite(i: int) -> None:
    record = payload(player_first_name=f"Player{i}", parent_first_name=f"Parent{i}")
    body = post_json("/trigger", record, key)[1]
    with printing:
        print(body, flush=True)


print(f"Simulating bulk invitation of {PLAYERS} players...")
threads = []
for i in range(1, PLAYERS + 1):
    thread = threading.Thread(target=invite, args=(i,))
    thread.start()
    threads.append(thread)
    time.sleep(STAGGER_SECONDS)
for thread in threads:
    thread.join()
print("All bulk invitation requests sent.")
