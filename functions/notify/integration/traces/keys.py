"""Every key and index of the traces table: nothing else builds or reads one.

A TraceId is one partition. Each owner (the tenant that sent it, domain/tenants.py) has
in it a header item, `Sk = owner`, and one item per channel of a recipient,
`Sk = owner#CHANNEL#address`. Tenant ids hold no "#", so the first "#" ends the owner,
and no owner's keys can be read as another's. A queued record Plan could not read is
marked dead-lettered by a header of its own: `TraceId = sqs-message:<SQS message id>`,
owner `unreadable` (a tenant's owner always has a "kind:" prefix).
"""

from __future__ import annotations

PARTITION_KEY = "TraceId"
SORT_KEY = "Sk"
# Between the parts of a recipient item's Sk: owner#CHANNEL#address.
KEY_SEPARATOR = "#"
# The GSI from a provider's message id to the recipient item (keys only).
PROVIDER_MESSAGE_INDEX = "ByProviderMessageId"
# The sparse GSI of header items whose execution runs: `Running` is set by a claim and
# removed when the trace ends, so only running traces are in it.
RUNNING_INDEX = "RunningByClaimedAt"
# The sparse GSI of the recipient items of a job's rows (`Job` = the JobId): its counts.
JOB_INDEX = "ByJob"
# The owner of the marker that a queued record was dead-lettered as it arrived.
UNREADABLE_OWNER = "unreadable"
UNREADABLE_PREFIX = "sqs-message:"


def header_key(trace_id: str, owner: str) -> dict[str, str]:
    return {PARTITION_KEY: trace_id, SORT_KEY: owner}


def recipient_key(owner: str, channel: str, address: str) -> str:
    """The Sk of one channel of a recipient."""
    return KEY_SEPARATOR.join((owner, channel, address))


def recipient_item_key(trace_id: str, owner: str, channel: str, address: str) -> dict[str, str]:
    return {PARTITION_KEY: trace_id, SORT_KEY: recipient_key(owner, channel, address)}


def unreadable_trace_id(message_id: str) -> str:
    """Where the dead-lettering of an unreadable queued message is recorded."""
    return UNREADABLE_PREFIX + message_id


def unreadable_key(message_id: str) -> tuple[str, str]:
    """(TraceId, owner) of the marker of the queued message `message_id`."""
    return unreadable_trace_id(message_id), UNREADABLE_OWNER


def owner_range(owner: str) -> tuple[str, str]:
    """The Sk range holding the owner's header and recipient items, and no other owner's.

    From the owner to the owner followed by the character after "#": never a bare
    prefix (owner "customer:acme" must not read "customer:acme.eu"). The tenant charset
    has nothing below "#", so the range holds only these.
    """
    if KEY_SEPARATOR in owner:
        # Tenant ids exclude "#" (domain/tenants.py): the first "#" ends the owner.
        raise ValueError(f"an owner holds no {KEY_SEPARATOR!r}: {owner!r}")
    return owner, owner + chr(ord(KEY_SEPARATOR) + 1)


def is_header(sort_key: str) -> bool:
    """A header item's Sk (its owner), not a recipient's (owner#CHANNEL#address)."""
    return KEY_SEPARATOR not in sort_key


def owner_of(sort_key: str) -> str:
    """The owner of a header or recipient item, from its Sk."""
    return sort_key.split(KEY_SEPARATOR, 1)[0]


def is_owners(sort_key: str, owner: str) -> bool:
    """The Sk is the owner's header or one of its recipients."""
    return sort_key == owner or sort_key.startswith(owner + KEY_SEPARATOR)
