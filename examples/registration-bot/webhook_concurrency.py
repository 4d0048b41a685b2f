#!/usr/bin/env python3
"""The seed's tests/test_webhook_concurrency.sh: 20 concurrent webhook requests.

The seed's requests are unsigned, so this stack answers each 403: POST /webhook takes only
what Twilio signed (X-Twilio-Signature, HMAC-SHA1 with the account's AuthToken), else anyone
could fake replies, STOPs and delivery receipts. With TWILIO_AUTH_TOKEN set (the AuthToken
of the stack's <stack>-twilio secret), 20 more are sent signed as Twilio signs them and
answered 200 with empty TwiML. `messaging inbound FROM BODY` sends one signed request.
"""

import base64
import hashlib
import hmac
import json
import os
import threading
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from _client import api_url, request

REQUESTS = 20
SENDER = "whatsapp:+447835065013"
SANDBOX = "whatsapp:+14155238886"
printing = threading.Lock()


def unsigned(i: int) -> tuple[int, str]:
    # The seed's body, as it sent it: JSON, no signature.
    body = {"Body": f"Test message {i}", "From": SENDER, "To": SANDBOX, "MessageSid": f"SM{i}"}
    headers = {"Content-Type": "application/json"}
    return request("POST", api_url("/webhook"), json.dumps(body).encode(), headers)


def signed(i: int, auth_token: str) -> tuple[int, str]:
    # What Twilio sends: a form, signed over the URL and the sorted parameters.
    url = api_url("/webhook")
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": os.environ.get("TWILIO_ACCOUNT_SID", ""),
        "From": SENDER,
        "To": SANDBOX,
        "Body": f"Test message {i}",
        "NumMedia": "0",
    }
    text = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": base64.b64encode(digest).decode(),
    }
    return request("POST", url, urlencode(params).encode(), headers)


def concurrently(send: Callable[..., tuple[int, str]], *args: str) -> None:
    def one(i: int) -> None:
        status, body = send(i, *args)
        with printing:
            print(f"{status} {body}", flush=True)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(1, REQUESTS + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


print(f"Sending {REQUESTS} concurrent webhook requests...")
concurrently(unsigned)
token = os.environ.get("TWILIO_AUTH_TOKEN")
if token:
    print(f"\nSending {REQUESTS} concurrent webhook requests signed as Twilio signs them...")
    concurrently(signed, token)
else:
    print("\n(set TWILIO_AUTH_TOKEN to the AuthToken of the stack's Twilio secret to send")
    print(" signed requests too; unsigned ones are refused, as Twilio signs every webhook)")
print("All webhook requests sent.")
