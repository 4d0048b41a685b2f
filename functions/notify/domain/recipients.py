"""How a trace's header names each channel of a recipient: `CHANNEL#address`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def channel_key(recipient: Mapping[str, Any]) -> str:
    """`CHANNEL#address`: a channel name holds no "#", so the first one ends it."""
    return f"{recipient['ChannelType']}#{recipient['Address']}"


def split_channel_key(key: str) -> tuple[str, str]:
    """(ChannelType, Address) of a `CHANNEL#address` key (an address may hold "#")."""
    channel, _, address = key.partition("#")
    return channel, address
