"""`make run`: the local stack in the foreground, on 127.0.0.1 only. Ctrl-C stops it."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

from emulator import console
from emulator.local import LOCAL_JWT_SECRET, LocalStack, parameter_overrides
from emulator.stack import RuleViolation
from notify.domain.tokens import mint_token

PORT = 4566
API_PORT = 3000


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def banner(local: LocalStack) -> str:
    outputs = local.stack.outputs()
    # The CLI's identity on the local stack: what either sends, the other can read.
    from cli.api import LOCAL_IDENTITY as CALLER

    token = mint_token(LOCAL_JWT_SECRET, CALLER.sub, CALLER.email, CALLER.customer_id)
    api = local.http.url + "/" if local.http else ""
    workflow, batch = (local.stack.resolve({"Ref": k}) for k in ("WorkflowType", "PipeBatchSize"))
    timeout = execution_timeout(local)
    queues = {
        key: local_queue_url(outputs[key], local.aws.endpoint)
        for key in ("MessageQueueUrl", "DeadLetterQueueUrl", "LargeMessageQueueUrl")
    }
    buckets = ", ".join(local.buckets())
    s3 = (
        f"  S3 buckets    {buckets} (pre-signed URLs point at the AWS endpoint, as localhost)\n"
        if buckets
        else ""
    )
    return f"""
Local stack '{local.stack.name}' is up (127.0.0.1 only).
  API           {api}   (API key {local.api_key})
  console       {api}_console/   (the outbox, traces, the DLQ, jobs, faults, templates)
  AWS endpoint  {local.aws.endpoint}
{s3}  queue         {queues["MessageQueueUrl"]}
  DLQ           {queues["DeadLetterQueueUrl"]}
  large queue   {queues["LargeMessageQueueUrl"]}
  delivery      {outputs["StateMachineArn"]} ({workflow}, up to {batch} requests each)
                executions time out after {timeout} s (ExecutionTimeoutSeconds)

Send the original README's first example (the token is valid for 1 h):
  curl -X POST {api} -H 'Content-Type: application/json' \\
    -H 'x-api-key: {local.api_key}' \\
    -H 'Authorization: Bearer {token}' \\
    -d @events/email-only.json

Or use the CLI: .venv/bin/messaging send events/email-and-sms.json
The registration bot's trigger (API key only):
  curl -X POST {api}trigger -H 'Content-Type: application/json' \\
    -H 'x-api-key: {local.api_key}' -d @examples/registration-bot/payload.json
Reply as a parent would, signed like Twilio: .venv/bin/messaging inbound whatsapp:+447835065013 STOP
AWS CLI: export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1
         aws --endpoint-url {local.aws.endpoint} ...

Sent messages are printed here. Ctrl-C stops everything.
"""


def local_queue_url(url: str, endpoint: str) -> str:
    """The queue's URL on the AWS endpoint, as its GetQueueUrl answers (the outputs give AWS's)."""
    return endpoint + urlsplit(url).path


def execution_timeout(local: LocalStack) -> str:
    """The Delivery state machine's TimeoutSeconds (ExecutionTimeoutSeconds, or its default)."""
    machine = local.stack.template["Resources"]["DeliveryStateMachine"]["Properties"]
    return str(local.stack.resolve(machine["DefinitionSubstitutions"]["ExecutionTimeoutSeconds"]))


def print_outbox(local: LocalStack, stop: threading.Event) -> None:
    shown = 0
    while not stop.wait(0.2):
        for message in local.providers.sent()[shown:]:
            shown += 1
            print(
                f"[{message.channel}] to {message.to} ({message.trace_id}): "
                f"{message.subject or ''} {message.text or message.body or ''}".strip(),
                flush=True,
            )


def main() -> int:
    busy = [port for port in (PORT, API_PORT) if port_in_use(port)]
    if busy:
        print(f"A local stack (or something else) is already listening on 127.0.0.1:{busy[0]}.")
        return 1
    # The functions' own logs only when asked for (make run LOG_LEVEL=INFO): the sent
    # messages are what a person reads here.
    log_level = os.environ.get("LOG_LEVEL", "WARNING")
    # Request lines and moto's internal dumps would bury the messages (but LOG_LEVEL=DEBUG).
    console.configure(log_level)
    # Template parameters, as `sam deploy --parameter-overrides` takes them.
    parameters = parameter_overrides(sys.argv[1:])
    try:
        local = LocalStack.start(port=PORT, api_port=API_PORT, LogLevel=log_level, **parameters)
    except RuleViolation as refused:
        print(f"Not started: {refused}")
        return 1
    local.seed_demo()
    local.serve()
    stop = threading.Event()
    threading.Thread(target=print_outbox, args=(local, stop), daemon=True).start()
    print(banner(local), flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping.")
    finally:
        stop.set()
        local.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
