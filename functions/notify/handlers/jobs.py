"""The jobs API for a JWT's tenant: POST /jobs, GET /jobs, GET and DELETE /jobs/{JobId},
POST /jobs/{JobId}/retry. A job is checked whole before anything is stored (400 naming
why); its rows go to S3, its item to the jobs table, and its execution starts at once
(waiting there for its SendAt). An uploaded file (`Upload`) starts it when it lands
(handlers/job_upload.py).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from notify.domain import jobs
from notify.domain.compose import Delivery
from notify.domain.errors import PermanentError
from notify.domain.jobs import JobRefused, JobSpec
from notify.domain.schedule import send_at, stamp
from notify.domain.senders import InvalidSender, check_sender, default_senders
from notify.domain.status import owner_of
from notify.handlers.settings import JobsSettings
from notify.integration.dynamodb_table import DynamoTable
from notify.integration.job_store import (
    JobCounts,
    JobFiles,
    JobStore,
    first_errors,
    results_prefix,
    rows_key,
    upload_key,
)
from notify.integration.template_store import DynamoTemplateStore
from notify.integration.tenant_store import TenantStore

S3_CONFIG = Config(signature_version="s3v4")
settings = JobsSettings.from_env()
logger = Logger()
tracer = Tracer()
dynamodb = boto3.client("dynamodb")
store = JobStore(DynamoTable(dynamodb, settings.jobs_table))
counts = JobCounts(DynamoTable(dynamodb, settings.traces_table))
# Pre-signed URLs signed with SigV4, which S3 requires of buckets made since 2020.
files = JobFiles(boto3.client("s3", config=S3_CONFIG), settings.jobs_bucket)
templates = DynamoTemplateStore(
    dynamodb,
    settings.templates_table,
    settings.template_cache_seconds,
    tenant_table=settings.tenant_templates_table,
)
tenants = TenantStore(dynamodb, settings.tenants_table, settings.tenant_cache_seconds)
sfn = boto3.client("stepfunctions")
defaults = default_senders((settings.default_senders or "").split(","))
app = APIGatewayRestResolver()


@app.post("/jobs")
def create() -> Response:
    body = app.current_event.json_body
    if not isinstance(body, dict):
        return _answer(400, {"message": "the body must be a JSON object"})
    caller = _caller()
    owner = owner_of(app.current_event.request_context.authorizer)
    try:
        spec = JobSpec.from_body(body)
        needed = check_message(owner, spec)
        now = datetime.now(UTC)
        due = _send_at(spec, now)
        job_id = jobs.new_job_id(now)
        if body.get("Upload") is True:
            return _answer(202, await_upload(_item(owner, job_id, spec, caller, due, now)))
        checked = jobs.check_table(jobs.read_table(body), spec.channel, needed)
        check_renders(owner, spec, checked)
    except JobRefused as exc:
        return _answer(400, {"message": "Bad Request", "reason": str(exc)})
    job = start(_item(owner, job_id, spec, caller, due, now), checked)
    return _answer(202, _created(job))


@app.get("/jobs")
def listed() -> Response:
    owner = owner_of(app.current_event.request_context.authorizer)
    page, following = store.page(owner, app.current_event.get_query_string_value("NextToken"))
    answer: dict[str, Any] = {"Jobs": [_summary(job) for job in page]}
    if following:
        answer["NextToken"] = following
    return _answer(200, answer)


@app.get("/jobs/<job_id>")
def status(job_id: str) -> Response:
    job = store.get(owner_of(app.current_event.request_context.authorizer), job_id)
    if job is None:
        return _not_found(job_id)
    return _answer(200, view(job))


@app.delete("/jobs/<job_id>")
def cancel(job_id: str) -> Response:
    owner = owner_of(app.current_event.request_context.authorizer)
    job = store.get(owner, job_id)
    if job is None:
        return _not_found(job_id)
    ended = store.cancel(owner, job_id, stamp(datetime.now(UTC)))
    if ended is not None:
        return _answer(409, {"message": "Conflict", "reason": f"job {job_id} has ended {ended}"})
    _stop(job)
    return _answer(202, {"JobId": job_id, "Status": jobs.CANCELLED})


@app.post("/jobs/<job_id>/retry")
def retry(job_id: str) -> Response:
    owner = owner_of(app.current_event.request_context.authorizer)
    job = store.get(owner, job_id)
    if job is None:
        return _not_found(job_id)
    if job["Status"] not in (jobs.COMPLETED, jobs.FAILED):
        reason = f"job {job_id} is {job['Status']}: only a COMPLETED or FAILED job is retried"
        return _answer(409, {"message": "Conflict", "reason": reason})
    settled = counts.progress(job_id).settled
    unsent = [row for row in files.read_json(job["RowsKey"]) if row["Row"] not in settled]
    if not unsent:
        return _answer(409, {"message": "Conflict", "reason": f"job {job_id} has no failed rows"})
    attempt = int(job.get("Retries", 0)) + 1
    key = f"jobs/{job_id}/retry-{attempt}.json"
    files.put_json(key, unsent)
    store.update(owner, job_id, {"Status": jobs.PENDING, "Retries": attempt})
    _execute(job, key, f"{job_id}-retry-{attempt}")
    return _answer(202, {"JobId": job_id, "Rows": len(unsent)})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def check_message(owner: str, spec: JobSpec) -> set[str]:
    """The placeholders the job's message needs a column for; JobRefused for an unknown
    template or a sender the tenant may not use."""
    message, channel = spec.message, spec.channel
    try:
        check_sender(
            owner,
            channel.name,
            message.get(channel.sender_field),
            tenants.senders(owner),
            settings.unlisted_tenant_senders,
            defaults,
        )
    except (PermanentError, InvalidSender) as exc:
        raise JobRefused(str(exc)) from exc
    inline = [v for k, v in message.items() if isinstance(v, str) and k != "TemplateName"]
    if any(k in message for k in ("MessageBody", "Body", "HtmlBody", "TextBody")):
        texts = inline
    else:
        try:
            name = message.get("TemplateName") or settings.default_template
            template = templates.get(name, owner, message.get("TemplateVersion"))
        except PermanentError as exc:
            raise JobRefused(exc.detail) from exc
        texts = [template.subject, template.html_body, template.text_body, template.message_body]
        texts += [message.get("Subject")]
    given = set(message.get("Substitutions") or {})
    return jobs.placeholders(texts) - given


def check_renders(owner: str, spec: JobSpec, checked: jobs.Checked) -> None:
    """The message renders for the job's first row, as its send function will render it:
    JobRefused naming why not (an e-mail template without a Subject, an empty body)."""
    if not checked.rows:
        return
    row = checked.rows[0]
    recipient = {
        "Address": row.address,
        "ChannelType": spec.channel.name,
        "Substitutions": row.substitutions,
    }
    delivery = Delivery("check", owner, recipient, {spec.channel.block: spec.message})
    try:
        spec.channel.compose(delivery, templates, settings.default_template)
    except PermanentError as exc:
        raise JobRefused(exc.detail) from exc


def start(job: dict[str, Any], checked: jobs.Checked) -> dict[str, Any]:
    """Store the job's rows and its item (`job`, stored already for an upload), and start
    its execution."""
    job_id, owner = job["JobId"], job["Owner"]
    key = rows_key(job_id)
    files.put_json(key, [jobs.row_item(row) for row in checked.rows])
    if checked.errors:
        files.put_json(f"jobs/{job_id}/errors.json", [e.to_json() for e in checked.errors])
    rows = {
        "Total": checked.total,
        "Rows": len(checked.rows),
        "RowErrors": first_errors(checked.errors),
        "ErrorCount": len(checked.errors),
        "RowsKey": key,
    }
    if "UploadKey" in job:
        store.update(owner, job_id, rows)
    else:
        store.create(job | rows)
    job |= rows
    if checked.rows:
        _execute(job, key, job_id)
    else:  # every row in error: nothing to send
        store.update(owner, job_id, {"Status": jobs.COMPLETED})
        job["Status"] = jobs.COMPLETED
    logger.info("job created", extra={"job_id": job_id, "rows": len(checked.rows)})
    return job


def await_upload(job: dict[str, Any]) -> dict[str, Any]:
    """Store the job waiting for its file; answer where to PUT it."""
    key = upload_key(job["Owner"], job["JobId"])
    store.create(job | {"UploadKey": key})
    return {
        "JobId": job["JobId"],
        "Status": jobs.PENDING,
        "UploadUrl": files.upload_url(key),
        "UploadHeaders": {"Content-Type": "text/csv"},
    }


def view(job: dict[str, Any]) -> dict[str, Any]:
    """GET /jobs/{JobId}: where the job is, its counts, its first rows in error."""
    progress = counts.progress(job["JobId"])
    total = int(job.get("Total", 0))
    # A row refused as the job was created counts as Rejected: the counts add up to Total.
    statuses = progress.statuses + Counter({jobs.REJECTED: int(job.get("ErrorCount", 0))})
    found = jobs.counts(total, statuses, progress.delivered, job["Status"])
    errors = [
        jobs.RowError(e["Row"], e["Address"], e["Reason"]) for e in job.get("RowErrors", [])
    ] + progress.errors  # first_errors orders them by row
    if job["Status"] == jobs.COMPLETED and found["Pending"]:
        job = job | {"Status": jobs.RUNNING}  # its Map ended; rows paced past it still run
    answer = _summary(job) | {
        "ChannelType": job["ChannelType"],
        "Priority": job["Priority"],
        "Total": total,
        **found,
        "Errors": first_errors(errors),
        "ErrorCount": int(job.get("ErrorCount", 0)) + len(progress.errors),
    }
    if job.get("Results"):
        answer["Results"] = f"s3://{settings.jobs_bucket}/{job['Results']}"
    if job.get("JobError"):  # why it FAILED: an uploaded file refused, too many batches failed
        answer["Reason"] = job["JobError"]
    return answer


def _item(
    owner: str,
    job_id: str,
    spec: JobSpec,
    caller: dict[str, Any],
    due: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    item = {
        "Owner": owner,
        "JobId": job_id,
        "Name": spec.name,
        "Status": jobs.SCHEDULED if due else jobs.PENDING,
        "ChannelType": spec.channel.name,
        "Message": spec.message,
        "Priority": spec.priority,
        "Caller": caller,
        "CreatedAt": stamp(now),
        "Total": 0,
        "Rows": 0,
        "ExpiresAt": int(now.timestamp()) + settings.trace_retention_days * 86400,
    }
    if due:
        item["SendAt"] = due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return item


def _execute(job: dict[str, Any], key: str, name: str) -> None:
    """Start the job's execution over the rows in `key` (named: a repeat is refused)."""
    run = {
        "Job": {
            "JobId": job["JobId"],
            "Owner": job["Owner"],
            "ChannelType": job["ChannelType"],
            "Message": job["Message"],
            "Priority": job["Priority"],
            "Caller": job["Caller"],
        },
        "RowsKey": key,
        "ResultsPrefix": results_prefix(job["JobId"]),
    }
    if job.get("SendAt"):
        run["SendAt"] = job["SendAt"]
    started = sfn.start_execution(
        stateMachineArn=settings.job_state_machine_arn, name=name, input=json.dumps(run)
    )
    store.update(job["Owner"], job["JobId"], {"ExecutionArn": started["executionArn"]})
    job["ExecutionArn"] = started["executionArn"]


def _stop(job: dict[str, Any]) -> None:
    """Stop the job's execution: no batch starts after it (rows planned check the job)."""
    arn = job.get("ExecutionArn")
    if not arn:
        return
    try:
        sfn.stop_execution(executionArn=arn, cause="cancelled by its sender")
    except sfn.exceptions.ExecutionDoesNotExist:
        logger.info("the job's execution had ended")


def _send_at(spec: JobSpec, now: datetime) -> datetime | None:
    try:
        return send_at(spec.send_at, now)
    except PermanentError as exc:
        raise JobRefused(exc.detail) from exc


def _caller() -> dict[str, Any]:
    """The caller as the authorizer passed it: what a queued request carries."""
    return json.loads(app.current_event.request_context.authorizer["caller"])


def _created(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "JobId": job["JobId"],
        "Rows": job["Total"],
        "Status": job["Status"],
        "Errors": job["RowErrors"],
        "ErrorCount": job["ErrorCount"],
    }


def _summary(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "JobId": job["JobId"],
        "Name": job.get("Name", ""),
        "Status": job["Status"],
        "Total": int(job.get("Total", 0)),
        "CreatedAt": job["CreatedAt"],
    }


def _not_found(job_id: str) -> Response:
    return _answer(404, {"message": "Not Found", "reason": f"no job {job_id!r} of this caller"})


def _answer(status: int, body: dict[str, Any]) -> Response:
    return Response(
        status, "application/json", json.dumps(body, separators=(",", ":"), default=str)
    )
