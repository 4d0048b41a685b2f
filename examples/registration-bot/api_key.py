#!/usr/bin/env python3
"""The seed's tests/test_api_key.sh: POST /trigger with the API key (202), then without (403)."""

from _client import api_key, payload, post_json

key = api_key()
print("Testing with valid API key...")
print(post_json("/trigger", payload(), key)[1])

print("\n\nTesting without API key (should fail)...")
print(post_json("/trigger", payload(), None)[1])
