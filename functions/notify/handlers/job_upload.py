"""A job's uploaded file landed in S3 (`{"Upload": true}` answered where to PUT it): check
it as POST /jobs checks a Csv, and start the job; a file refused whole fails the job with
the reason, which GET /jobs/{JobId} shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from notify.domain import jobs
from notify.domain.jobs import JobRefused, JobSpec
from notify.domain.schedule import stamp
from notify.handlers.jobs import check_message, check_renders, files, logger, start, store, tracer
from notify.integration.job_store import upload_of


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> None:
    for record in event.records:
        started(unquote_plus(record.s3.get_object.key))


def started(key: str) -> None:
    """Start the job `key` was uploaded for, once: only a PENDING job waiting for this file."""
    owner, job_id = upload_of(key)
    job = store.get(owner, job_id)
    if job is None or job.get("UploadKey") != key or job.get("Total"):
        logger.info("an upload no job waits for", extra={"key": key})
        return
    spec = JobSpec.from_body(_body(job))
    try:
        needed = check_message(owner, spec)
        table = jobs.read_table({"Csv": files.read_text(key)})
        checked = jobs.check_table(table, spec.channel, needed)
        check_renders(owner, spec, checked)
    except JobRefused as exc:
        ended = {"Status": jobs.FAILED, "JobError": str(exc), "EndedAt": stamp(datetime.now(UTC))}
        store.update(owner, job_id, ended)
        logger.info("uploaded job refused", extra={"job_id": job_id, "reason": str(exc)})
        return
    start(job, checked)


def _body(job: dict[str, Any]) -> dict[str, Any]:
    """The job as POST /jobs named it."""
    channel = jobs.CHANNELS[job["ChannelType"]]
    return {
        "Name": job.get("Name", ""),
        "ChannelType": channel.name,
        channel.block: job["Message"],
        "Priority": job["Priority"],
    }
