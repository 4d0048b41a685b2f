"""Bulk jobs: a list of recipients, one row each, sent as one request per row.

A job is a channel, its message block (a template or an inline body, a sender) and a
table: the first row names the columns, one of them the address (`address`, or as GOV.UK
Notify also reads them `email address` and `phone number`), every other a substitution.
What would refuse the whole job (no address column, a placeholder no column fills, no
rows, too many) is refused before anything is stored; a row wrong on its own (an invalid
address, an empty value the template needs, an address an earlier row has) is reported
with its number, 1 being the first row after the header, and the others are sent.

Each row becomes a request of its own, `TraceId = <JobId>-<row>`, carried through Plan,
the send functions and Record like any queued request: the status API, status events,
callbacks and the send-once record work per row. Its recipient names the job (`Job`),
which is how a job's counts are read from the recipients' items.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notify.domain.channels import CHANNELS, Channel
from notify.domain.content import refuse_uncarriable
from notify.domain.errors import PermanentError
from notify.domain.outcomes import CANCELLED, COMPLETED, FAILED, REJECTED, RUNNING, SCHEDULED, SENT
from notify.domain.pacing import BULK, LANES
from notify.domain.rendering import PLACEHOLDER

MAX_ROWS = 100_000
# Rows per child execution of the Distributed Map (the ASL's ItemBatcher says the same).
ROWS_PER_BATCH = 25
# A batch carries its job's message block once per row through its execution (256 KB).
MAX_BLOCK_BYTES = 6 * 1024
ADDRESS_COLUMNS = ("address", "email address", "phone number")
# On a recipient of a job's row: the JobId (the traces table's ByJob index reads it).
JOB = "Job"
# Where a job is: PENDING (waiting for its rows or its start), SCHEDULED (for its SendAt),
# RUNNING, then one of ENDED.
PENDING = "PENDING"
STATUSES = (PENDING, SCHEDULED, RUNNING, COMPLETED, CANCELLED, FAILED)
ENDED = (COMPLETED, CANCELLED, FAILED)
# The counts GET /jobs/{JobId} answers, by the recipient status each counts.
COUNTED = {"Sent": SENT, "Rejected": REJECTED, "Failed": FAILED, "Cancelled": CANCELLED}
MAX_ERRORS_SHOWN = 100
# Counted for a row whose send is at its provider now (no status yet, marked in progress).
IN_FLIGHT = "IN_FLIGHT"


class JobRefused(ValueError):
    """A job refused whole, before anything is stored: the message says why (HTTP 400)."""


@dataclass(frozen=True)
class JobRow:
    row: int  # 1 = the first row after the header
    address: str  # canonical
    substitutions: dict[str, str]


@dataclass(frozen=True)
class RowError:
    row: int
    address: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"Row": self.row, "Address": self.address, "Reason": self.reason}


@dataclass(frozen=True)
class JobSpec:
    """What a job sends, as POST /jobs names it (the table apart)."""

    name: str
    channel: Channel
    message: dict[str, Any]  # the channel's block
    priority: str = BULK
    send_at: str | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> JobSpec:
        channel = CHANNELS.get(body.get("ChannelType"))  # type: ignore[arg-type]
        if channel is None:
            raise JobRefused(f"ChannelType must be one of {sorted(CHANNELS)}")
        message = body.get(channel.block)
        if not isinstance(message, dict):
            raise JobRefused(f"a {channel.name} job needs its {channel.block}")
        if len(json.dumps(message)) > MAX_BLOCK_BYTES:
            raise JobRefused(
                f"{channel.block} is over {MAX_BLOCK_BYTES} bytes: name a template instead"
            )
        priority = body.get("Priority", BULK)
        if priority not in LANES:
            raise JobRefused(f"Priority must be one of {list(LANES)}")
        return cls(str(body.get("Name") or ""), channel, message, priority, body.get("SendAt"))


@dataclass
class Checked:
    """A job's table, checked: the rows to send and the rows in error."""

    rows: list[JobRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.errors)


def read_table(body: Mapping[str, Any]) -> list[list[str]]:
    """The job's table from its `Csv` text or its `Rows`, header first."""
    if "Csv" in body:
        text = body["Csv"]
        if not isinstance(text, str):
            raise JobRefused("Csv must be the file's text")
        return [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(row)]
    rows = body.get("Rows")
    if not isinstance(rows, list) or not all(
        isinstance(row, list) and all(isinstance(cell, str) for cell in row) for row in rows
    ):
        raise JobRefused("a job needs Csv (the file's text) or Rows (lists of strings)")
    return [row for row in rows if any(row)]


def check_table(table: Sequence[Sequence[str]], channel: Channel, needed: set[str]) -> Checked:
    """The rows to send and the rows in error; JobRefused for what refuses the whole job."""
    if not table:
        raise JobRefused("the job has no header row: its first row names the columns")
    header = [name.strip() for name in table[0]]
    column = address_column(header)
    missing = sorted(needed - set(header))
    if missing:
        raise JobRefused(f"the template needs {', '.join(missing)}: no column holds it")
    rows = table[1:]
    if not rows:
        raise JobRefused("the job has no rows after its header")
    if len(rows) > MAX_ROWS:
        raise JobRefused(f"the job has {len(rows)} rows: at most {MAX_ROWS}")
    checked, seen = Checked(), set()
    for number, cells in enumerate(rows, start=1):
        values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        written = values.pop(header[column], "")
        try:
            canonical = _row_address(written, channel, values, needed, seen)
        except JobRowError as exc:
            checked.errors.append(RowError(number, written, str(exc)))
            continue
        seen.add(canonical)
        checked.rows.append(JobRow(number, canonical, values))
    return checked


def address_column(header: Sequence[str]) -> int:
    """The index of the address column (case-insensitive); JobRefused without one."""
    for index, name in enumerate(header):
        if name.strip().lower() in ADDRESS_COLUMNS:
            return index
    raise JobRefused(
        f"no address column: the header {list(header)[:10]} needs one named "
        f"{' or '.join(repr(c) for c in ADDRESS_COLUMNS)}"
    )


class JobRowError(ValueError):
    """One row in error (the message says why); the job's other rows are sent."""


def _row_address(
    written: str, channel: Channel, values: Mapping[str, str], needed: set[str], seen: set[str]
) -> str:
    """The row's canonical address; JobRowError naming why the row cannot be sent."""
    if not written:
        raise JobRowError("no address")
    if len(written) > channel.address_limit:
        raise JobRowError(f"not a {channel.name} address: over {channel.address_limit} characters")
    try:
        refuse_uncarriable("the address", written, one_line=True)
        canonical = channel.canonical_address(written)
    except PermanentError as exc:
        raise JobRowError(exc.detail) from None
    empty = sorted(name for name in needed if not values.get(name))
    if empty:
        raise JobRowError(f"no value for: {', '.join(empty)}")
    if canonical in seen:
        raise JobRowError("a duplicate of an earlier row's address")
    return canonical


def placeholders(texts: Iterable[str | None]) -> set[str]:
    """Every `{name}` the texts fill."""
    return {name for text in texts if text for name in PLACEHOLDER.findall(text)}


def new_job_id(now: datetime) -> str:
    """Sortable by creation (a tenant's jobs list newest first), unguessable."""
    return f"job-{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}-{secrets.token_hex(4)}"


def row_trace_id(job_id: str, row: int) -> str:
    return f"{job_id}-{row}"


def row_of(trace_id: str) -> int:
    return int(trace_id.rsplit("-", 1)[1])


def row_item(row: JobRow) -> dict[str, Any]:
    """One row as the Distributed Map reads it from S3."""
    return {"Row": row.row, "Address": row.address, "Substitutions": row.substitutions}


def batch_records(batch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A Distributed Map batch (`{"Items": rows, "BatchInput": {"Job": ...}}`) as the
    queued records Plan reads, one request per row."""
    job = batch["BatchInput"]["Job"]
    return [
        {"messageId": row_trace_id(job["JobId"], item["Row"]), "body": row_body(job, item)}
        for item in batch["Items"]
    ]


def row_body(job: Mapping[str, Any], item: Mapping[str, Any]) -> str:
    """The queued envelope of one row: its own TraceId, one recipient naming the job."""
    channel = CHANNELS[job["ChannelType"]]
    recipient = {
        "ChannelType": channel.name,
        "Substitutions": item["Substitutions"],
        JOB: job["JobId"],
    }
    request = {
        "TraceId": row_trace_id(job["JobId"], item["Row"]),
        "Addresses": {item["Address"]: recipient},
        channel.block: job["Message"],
        "Priority": job["Priority"],
    }
    return json.dumps({"Caller": job["Caller"], "Request": request}, separators=(",", ":"))


def counts(total: int, statuses: Counter[str], delivered: int, status: str) -> dict[str, int]:
    """A job's counts per recipient status. Once the job is CANCELLED, a row not at a
    provider is never sent (its send reads the job first): it counts Cancelled, and only
    the rows whose send is under way (`IN_FLIGHT`) stay Pending."""
    found = {name: statuses.get(recipient, 0) for name, recipient in COUNTED.items()}
    pending = max(0, total - sum(found.values()))
    if status == CANCELLED:
        in_flight = min(pending, statuses.get(IN_FLIGHT, 0))
        found["Cancelled"] += pending - in_flight
        pending = in_flight
    return found | {"Delivered": delivered, "Pending": pending}
