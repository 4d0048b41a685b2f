"""The jobs table (key Owner, JobId) and the job's files in the jobs bucket.

A job's item says what it sends and where it is (`Status`); the rows it sends are a JSON
array in S3 (`jobs/<JobId>/rows.json`, what the Distributed Map reads), the rows in error
too (`errors.json`), and the Map's results are written under `jobs/<JobId>/results/`.
How many rows each recipient status holds is read from the traces table (`JobCounts`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from notify.domain.jobs import ENDED, IN_FLIGHT, JOB, MAX_ERRORS_SHOWN, RowError, row_of
from notify.domain.outcomes import CANCELLED, FAILED, REJECTED, SENT
from notify.domain.status_events import plain
from notify.integration.aws_errors import aws_errors
from notify.integration.traces.keys import JOB_INDEX
from notify.integration.traces.table import now, update_unless_refused

UPLOADS_PREFIX = "uploads/"
# The list of a tenant's jobs is paged this many at a time.
PAGE = 50


def rows_key(job_id: str) -> str:
    return f"jobs/{job_id}/rows.json"


def results_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/results"


def upload_key(owner: str, job_id: str) -> str:
    """Where a job's file is uploaded; the owner is in the key, so an upload names its job's."""
    return f"{UPLOADS_PREFIX}{owner}/{job_id}.csv"


def upload_of(key: str) -> tuple[str, str]:
    """(owner, JobId) of an uploaded file's key."""
    owner, name = key.removeprefix(UPLOADS_PREFIX).rsplit("/", 1)
    return owner, name.removesuffix(".csv")


class JobStore:
    def __init__(self, table: Any) -> None:
        self._table = table  # a DynamoTable

    def create(self, job: dict[str, Any]) -> None:
        with aws_errors():
            self._table.put_item(Item=job, ConditionExpression="attribute_not_exists(JobId)")

    def get(self, owner: str, job_id: str) -> dict[str, Any] | None:
        with aws_errors():
            item = self._table.get_item(Key={"Owner": owner, "JobId": job_id}).get("Item")
        return None if item is None else plain(item)

    def status(self, owner: str, job_id: str) -> str | None:
        """The job's Status (None: no such job), read strongly: a cancel shows at once."""
        with aws_errors():
            item = self._table.get_item(
                Key={"Owner": owner, "JobId": job_id},
                ProjectionExpression="#status",
                ExpressionAttributeNames={"#status": "Status"},
                ConsistentRead=True,
            ).get("Item")
        return None if item is None else item.get("Status")

    def page(self, owner: str, start: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the owner's jobs, newest first (JobIds sort by creation), and the next."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": "Owner"},
            "ExpressionAttributeValues": {":owner": owner},
            "ScanIndexForward": False,
            "Limit": PAGE,
        }
        if start:
            query["ExclusiveStartKey"] = {"Owner": owner, "JobId": start}
        with aws_errors():
            page = self._table.query(**query)
        last = page.get("LastEvaluatedKey")
        return [plain(item) for item in page["Items"]], last["JobId"] if last else None

    def update(self, owner: str, job_id: str, fields: dict[str, Any]) -> None:
        names = {f"#{k}": k for k in fields}
        with aws_errors():
            self._table.update_item(
                Key={"Owner": owner, "JobId": job_id},
                UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":{k}": v for k, v in fields.items()},
            )

    def cancel(self, owner: str, job_id: str, at: str) -> str | None:
        """Mark the job CANCELLED unless it ended: None, or the status it had ended with."""
        refused = update_unless_refused(
            self._table,
            Key={"Owner": owner, "JobId": job_id},
            UpdateExpression="SET #status = :cancelled, EndedAt = :at",
            ConditionExpression="attribute_exists(JobId) AND NOT #status IN (:a, :b, :c)",
            ExpressionAttributeNames={"#status": "Status"},
            ExpressionAttributeValues={":cancelled": CANCELLED, ":at": at}
            | {f":{n}": s for n, s in zip("abc", ENDED, strict=True)},
        )
        return None if refused is None else refused.get("Status", "")


@dataclass
class JobProgress:
    """What the recipients of a job's rows say: counts per status, and the rows in error."""

    statuses: Counter[str]
    delivered: int
    errors: list[RowError]
    settled: set[int]  # the rows sent, rejected or cancelled: never to be sent again


class JobCounts:
    """A job's recipients, read through the traces table's sparse ByJob index."""

    def __init__(self, traces: Any) -> None:
        self._table = traces  # a DynamoTable of the traces table

    def progress(self, job_id: str) -> JobProgress:
        query: dict[str, Any] = {
            "IndexName": JOB_INDEX,
            "KeyConditionExpression": "#job = :job",
            "ExpressionAttributeNames": {"#job": JOB},
            "ExpressionAttributeValues": {":job": job_id},
        }
        found, moment = JobProgress(Counter(), 0, [], set()), now()
        with aws_errors():
            for item in self._table.query_all(**query):
                _count(found, item, moment)
        return found


def _count(found: JobProgress, item: dict[str, Any], now: str) -> None:
    status = item.get("Status")
    if status:
        found.statuses[status] += 1
    elif item.get("InProgressUntil", "") > now:
        found.statuses[IN_FLIGHT] += 1
    if item.get("DeliveryStatus") == "DELIVERED":
        found.delivered += 1
    if status in (SENT, REJECTED, CANCELLED):
        found.settled.add(row_of(item["TraceId"]))
    if status in (REJECTED, FAILED):
        reason = item.get("Reason") or item.get("Error") or status
        found.errors.append(RowError(row_of(item["TraceId"]), item.get("Address", ""), reason))


class JobFiles:
    """A job's files in the jobs bucket."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def put_json(self, key: str, value: Any) -> None:
        with aws_errors():
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps(value, separators=(",", ":")).encode(),
                ContentType="application/json",
            )

    def read_text(self, key: str) -> str:
        with aws_errors():
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body.decode("utf-8-sig")

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_text(key))

    def upload_url(self, key: str, expires_seconds: int = 3600) -> str:
        """A pre-signed PUT of a CSV file to `key`."""
        return self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": "text/csv"},
            ExpiresIn=expires_seconds,
        )


def first_errors(errors: list[RowError]) -> list[dict[str, Any]]:
    return [e.to_json() for e in sorted(errors, key=lambda e: e.row)[:MAX_ERRORS_SHOWN]]
