"""Twilio, the WHATSAPP channel's provider: its sender and error codes (whatsapp.py,
errors.py), its webhook's signature check (webhook.py) and what the webhook queues
(events.py).

Nothing is imported here: the webhook needs only the signature check, not the REST client
the sender loads (some 60 ms of its cold start).
"""
