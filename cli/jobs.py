"""`messaging jobs`: bulk jobs (one template sent to every row of a CSV file) through the API.

Like `messaging callbacks`, each command calls the stack's API (/jobs) with a short-lived
token minted for `--sub` / `--customer-id` (else the CLI's default identity: locally the
banner's tenant), so a job belongs to the tenant the API derives from that token. A file
over INLINE_LIMIT bytes is not sent in the request: the API answers with an upload URL,
the file is PUT there, and the job starts when it lands.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import requests

from cli.api import SEND_TOKEN_TTL, Identity, api_answer, identity, read_secret
from cli.errors import CommandError
from cli.output import one_line, short_time, table, to_json
from cli.target import Context
from notify.domain.channels import CHANNELS

# The API's contract: a CSV up to 5 MB travels in the request (API Gateway takes 10 MB,
# leaving room for JSON's escapes), a larger one by upload.
INLINE_LIMIT = 5 * 1024 * 1024
POLL_EVERY = 2.0  # seconds between two reads of a job being waited for
ENDED = ("COMPLETED", "CANCELLED", "FAILED")
PRIORITIES = ("bulk", "transactional")
COUNTS = ("Total", "Sent", "Delivered", "Rejected", "Failed", "Pending", "Cancelled")
BAR_WIDTH = 30
# The answer to an upload request holds a presigned URL: a credential, never printed.
UPLOAD_KEYS = ("UploadUrl", "UploadHeaders")


def _sender_help() -> str:
    channels_of: dict[str, list[str]] = {}
    for channel in CHANNELS.values():
        channels_of.setdefault(channel.sender_field, []).append(channel.name)
    fields = ", ".join(f"{name} ({', '.join(names)})" for name, names in channels_of.items())
    optional = [channel.name for channel in CHANNELS.values() if channel.sender_optional]
    return f"the sender: {fields}; optional for {', '.join(optional)}"


SENDER_HELP = _sender_help()


@dataclass
class JobsApi:
    """/jobs as one tenant. The token is minted again before it expires: a wait can last
    hours, and reusing it meanwhile keeps the API's authorizer cache warm."""

    url: str
    caller: Identity
    secret: str = field(repr=False)
    clock: Callable[[], float] = time.monotonic
    _token: str = field(default="", repr=False)
    _renew_at: float = 0.0

    @classmethod
    def of(cls, ctx: Context, args: argparse.Namespace) -> JobsApi:
        target = ctx.target()
        caller = identity(target, args)  # a token the API would refuse stops us before AWS
        secret = read_secret(target.client("secretsmanager"), target.jwt_secret_name)
        return cls(target.output("ApiUrl").rstrip("/") + "/jobs", caller, secret)

    def call(
        self,
        method: str,
        path: str = "",
        *,
        expected: int = 200,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        url = self.url + path
        headers = {"Authorization": f"Bearer {self._bearer()}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        try:
            response = requests.request(
                method, url, data=data, headers=headers, params=params, timeout=60
            )
        except requests.RequestException as exc:
            raise CommandError(f"cannot reach the API at {url}: {type(exc).__name__}") from exc
        return api_answer(response, expected)

    def job(self, job_id: str) -> dict[str, Any]:
        return self.call("GET", job_path(job_id))

    def _bearer(self) -> str:
        now = self.clock()
        if not self._token or now >= self._renew_at:
            self._token = self.caller.token(self.secret, SEND_TOKEN_TTL)
            self._renew_at = now + SEND_TOKEN_TTL / 2
        return self._token


def job_path(job_id: str, action: str = "") -> str:
    return "/" + quote(job_id, safe="") + (f"/{action}" if action else "")


def job_request(args: argparse.Namespace) -> dict[str, Any]:
    """POST /jobs's body without the CSV: the name, the channel's block, when, how urgent."""
    channel = CHANNELS[args.channel]
    block = {"TemplateName": args.template}
    if args.sender is not None:
        block[channel.sender_field] = args.sender
    elif not channel.sender_optional:
        raise CommandError(f"a {channel.name} job needs --from: its {channel.sender_field}")
    request: dict[str, Any] = {
        "Name": args.name or Path(args.file).name,
        "ChannelType": channel.name,
        channel.block: block,
    }
    if args.send_at is not None:
        request["SendAt"] = args.send_at
    if args.priority is not None:
        request["Priority"] = args.priority
    return request


def read_csv(source: str) -> bytes:
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {source}: {exc.strerror or exc}") from exc


def start_job(api: JobsApi, request: dict[str, Any], data: bytes, source: str) -> dict[str, Any]:
    """POST the job with its CSV inline, or POST it for an upload and PUT the file there."""
    if len(data) <= INLINE_LIMIT:
        try:
            csv = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{source} is not UTF-8 text: {exc}") from exc
        return api.call("POST", expected=202, body={**request, "Csv": csv})
    answer = api.call("POST", expected=202, body={**request, "Upload": True})
    upload(answer, data, source)
    return answer


def upload(answer: dict[str, Any], data: bytes, source: str) -> None:
    """PUT the file to the presigned URL with exactly the headers it was signed with."""
    job_id = answer["JobId"]
    try:
        response = requests.request(
            "PUT", answer["UploadUrl"], data=data, headers=answer["UploadHeaders"], timeout=300
        )
        failure = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    except requests.RequestException as exc:
        failure = type(exc).__name__
    if failure:
        raise CommandError(
            f"the upload of {source} failed ({failure}): job {job_id} waits for a file that "
            f"will not come; cancel it with `messaging jobs cancel {job_id}` and send it again"
        )


def send(args: argparse.Namespace, ctx: Context) -> int:
    request = job_request(args)
    data = read_csv(args.file)
    api = JobsApi.of(ctx, args)
    answer = start_job(api, request, data, args.file)
    accepted = {key: value for key, value in answer.items() if key not in UPLOAD_KEYS}
    job_id = accepted["JobId"]
    if args.json and args.no_wait:
        print(to_json(accepted))
    elif not args.json:
        print(accepted_line(accepted, api.caller.tenant, len(data)))
        for line in render_errors(accepted, "refused"):
            print(line)
        print(f"follow it: messaging jobs status {job_id}")
    if args.no_wait:
        return 0
    try:
        final = wait_for_job(api, job_id, args.timeout, Progress(sys.stderr), every=POLL_EVERY)
    except KeyboardInterrupt:
        print(
            f"messaging: stopped waiting; job {job_id} goes on: `messaging jobs status "
            f"{job_id}` shows it, `messaging jobs cancel {job_id}` stops it",
            file=sys.stderr,
        )
        return 130
    if args.json:
        print(to_json(final))
    else:
        print(final_lines(final))
    return 0 if final.get("Status") == "COMPLETED" else 1


def accepted_line(answer: dict[str, Any], tenant: str, size: int) -> str:
    rows = _plural(answer["Rows"], "row") if "Rows" in answer else f"{size} bytes uploaded"
    return f"job {answer['JobId']} of {tenant}: {rows}, {answer.get('Status', '?')}"


def wait_for_job(
    api: JobsApi,
    job_id: str,
    timeout: float | None,
    progress: Progress,
    *,
    every: float = POLL_EVERY,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Read the job every `every` seconds until it ends, showing each read on `progress`."""
    start = clock()
    try:
        while True:
            job = api.job(job_id)
            progress.show(job)
            if job.get("Status") in ENDED:
                return job
            if timeout is not None and clock() - start >= timeout:
                raise CommandError(
                    f"job {job_id} still {job.get('Status')} ({done(job)}/{job.get('Total', 0)} "
                    f"done) after {timeout:g} s; look again: messaging jobs status {job_id}"
                )
            sleep(every)
    finally:
        progress.end()


def done(job: dict[str, Any]) -> int:
    return job.get("Total", 0) - job.get("Pending", 0)


def progress_line(job: dict[str, Any]) -> str:
    total, finished = job.get("Total", 0), done(job)
    filled = BAR_WIDTH * finished // total if total else 0
    percent = 100 * finished // total if total else 0
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return (
        f"[{bar}] {percent:3d}% {finished}/{total} {job.get('Status', '?')}: "
        f"sent {job.get('Sent', 0)}, failed {job.get('Failed', 0)}, "
        f"rejected {job.get('Rejected', 0)}"
    )


@dataclass
class Progress:
    """A job's progress: one line redrawn in place on a terminal, else one line per read."""

    stream: TextIO
    in_place: bool | None = None
    _drawn: bool = False

    def __post_init__(self) -> None:
        if self.in_place is None:
            self.in_place = self.stream.isatty()

    def show(self, job: dict[str, Any]) -> None:
        if self.in_place:
            self.stream.write(f"\r{progress_line(job)}\x1b[K")
            self._drawn = True
        else:
            self.stream.write(progress_line(job) + "\n")
        self.stream.flush()

    def end(self) -> None:
        """Leave the redrawn line, so what follows starts on a line of its own."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def final_lines(job: dict[str, Any]) -> str:
    job_id = job["JobId"]
    lines = [f"job {job_id} {job.get('Status')}: {counts(job)}"]
    if job.get("Reason"):
        lines.append(f"why: {job['Reason']}")
    if job.get("ErrorCount"):
        lines.append(f"{_plural(job['ErrorCount'], 'error')}: messaging jobs errors {job_id}")
    if job.get("Failed") and job.get("Status") in ("COMPLETED", "FAILED"):
        lines.append(f"send the failed rows again: messaging jobs retry {job_id}")
    return "\n".join(lines)


def counts(job: dict[str, Any]) -> str:
    return ", ".join(f"{key.lower()} {job.get(key, 0)}" for key in COUNTS)


def render_errors(answer: dict[str, Any], verb: str) -> list[str]:
    """'3 rows refused:' and the table of Row, Address, Reason; says when some are not shown."""
    errors = answer.get("Errors") or []
    count = answer.get("ErrorCount", len(errors))
    if not count:
        return []
    rows = [
        [str(error.get("Row", "?")), error.get("Address") or "-", one_line(error.get("Reason"))]
        for error in errors
    ]
    lines = [f"{_plural(count, 'row')} {verb}:", *table(["ROW", "ADDRESS", "REASON"], rows, "  ")]
    if count > len(errors):
        lines.append(f"  ({len(errors)} of {count} shown)")
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def list_jobs(args: argparse.Namespace, ctx: Context) -> int:
    api = JobsApi.of(ctx, args)
    jobs: list[dict[str, Any]] = []
    params: dict[str, str] | None = None
    while True:  # newest first, a page at a time
        page = api.call("GET", params=params)
        jobs += page.get("Jobs", [])
        if not page.get("NextToken"):
            break
        params = {"NextToken": page["NextToken"]}
    if args.json:
        print(to_json(jobs))
    elif not jobs:
        print(f"no jobs of {api.caller.tenant}")
    else:
        rows = [
            [
                job["JobId"],
                job.get("Name", ""),
                job.get("Status", "?"),
                str(job.get("Total", "-")),
                short_time(job.get("CreatedAt")),
            ]
            for job in jobs
        ]
        print("\n".join(table(["JOB ID", "NAME", "STATUS", "TOTAL", "CREATED"], rows)))
    return 0


def status(args: argparse.Namespace, ctx: Context) -> int:
    job = JobsApi.of(ctx, args).job(args.job_id)
    print(to_json(job) if args.json else "\n".join(render_job(job)))
    return 0


def render_job(job: dict[str, Any]) -> list[str]:
    job_id = job["JobId"]
    lines = [
        f"job {job_id}: {job.get('Name', '')}",
        f"  status    {job.get('Status', '?')}",
        *([f"  reason    {job['Reason']}"] if job.get("Reason") else []),
        f"  channel   {job.get('ChannelType', '?')}, priority {job.get('Priority', '?')}",
        f"  created   {short_time(job.get('CreatedAt'))}",
        f"  progress  {progress_line(job)}",
        f"  counts    {counts(job)}",
    ]
    if job.get("ErrorCount"):
        lines.append(f"  errors    {job['ErrorCount']}: messaging jobs errors {job_id}")
    if job.get("Results"):
        lines.append(f"  results   {job['Results']}")
    return lines


def errors(args: argparse.Namespace, ctx: Context) -> int:
    job = JobsApi.of(ctx, args).job(args.job_id)
    shown = {"JobId": job["JobId"], "ErrorCount": job.get("ErrorCount", 0)}
    if args.json:
        print(to_json({**shown, "Errors": job.get("Errors") or []}))
    elif not shown["ErrorCount"]:
        print(f"job {job['JobId']}: no errors")
    else:
        print("\n".join(render_errors(job, "with errors")))
    return 0


def cancel(args: argparse.Namespace, ctx: Context) -> int:
    answer = JobsApi.of(ctx, args).call("DELETE", job_path(args.job_id), expected=202)
    job_id, state = answer["JobId"], answer.get("Status", "CANCELLED")
    print(f"job {job_id} {state}: no more of its rows are sent")
    return 0


def retry(args: argparse.Namespace, ctx: Context) -> int:
    answer = JobsApi.of(ctx, args).call("POST", job_path(args.job_id, "retry"), expected=202)
    job_id = answer["JobId"]
    print(f"job {job_id}: sending its {_plural(answer['Rows'], 'failed row')} again")
    print(f"follow it: messaging jobs status {job_id}")
    return 0
