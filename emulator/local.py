"""Assemble the local stack: emulated AWS, template resources, Lambda runtime, API, pipe."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator import botocore_hooks
from emulator.api_definition import api_definition
from emulator.api_gateway import ApiGateway
from emulator.aws import REGION, EmulatedAws, client_environment, free_port
from emulator.event_rules import (
    LocalEventBridge,
    async_configs,
    rule_targets,
    schedule_targets,
    status_change_event,
)
from emulator.event_sources import SqsPoller, sqs_event_sources
from emulator.http import HttpServer, LocalHttp
from emulator.lambdas import LambdaRuntime
from emulator.moto_patches import EXECUTION_END_LISTENERS, S3_FUNCTION_NOTIFICATIONS
from emulator.pipe import Pipes, pipe_specs
from emulator.priority import ApiFirst
from emulator.providers import Providers
from emulator.schedules import LocalScheduler
from emulator.sms_api import SmsApi
from emulator.stack import ACCOUNT_ID, Stack, load_template
from emulator.stream_sources import STREAMS_CLIENT_CONFIG, StreamPoller, stream_event_sources
from emulator.twilio_api import TwilioApi
from notify.domain.tenants import key_owner
from notify.domain.triggers import REGISTRATION_INVITATION, Trigger
from notify.integration.tenant_store import trigger_item

EVENTS = Path(__file__).resolve().parent.parent / "events"
DEMO_SENDER_DOMAIN = "example.com"
LOCAL_JWT_SECRET = "local-development-secret-do-not-use-in-aws"
# Local configuration, not code: shorter caches, so a rotated secret, a template put
# with the AWS CLI or a tenant's senders changed with the CLI show within seconds.
LOCAL_FUNCTION_ENVIRONMENT = {
    "JWT_SECRET_MAX_AGE_SECONDS": "2",
    "TEMPLATE_CACHE_SECONDS": "1",
    "TENANT_CACHE_SECONDS": "1",
    # Callbacks to 127.0.0.1 (plain http too), so tests and developers can receive them.
    "CALLBACK_ALLOW_LOOPBACK": "true",
}
# The senders of the demo requests (events/, the README, the registration bot) and of the
# tests: what a tenant without a list may use here (UnlistedTenantSenders=defaults).
LOCAL_DEFAULT_SENDERS = (
    f"@{DEMO_SENDER_DOMAIN}",
    "whatsapp:+14155238886",  # Twilio's WhatsApp sandbox
    "your-pool-id",
    "pool-1",
    "+18005550100",
    "+16045550000",
    "voice:+18005550100",  # the toll-free number also places calls
)
# Template parameters the local stack sets: failed callbacks are retried after 1, 2, 4 ... s.
LOCAL_PARAMETERS = {
    "CallbackRetryBaseSeconds": "1",
    "DefaultSenders": ",".join(LOCAL_DEFAULT_SENDERS),
}
SMS_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2"
# boto3's S3 endpoint variable: the functions' S3 clients, their pre-signed URLs included,
# use the AWS endpoint, which any process on this machine reaches (`curl -X PUT URL`)...
S3_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_S3"
# ... and moto answers calls to that endpoint in-process, as it answers s3.amazonaws.com:
# every call to its host goes to S3, so S3 has a host name of its own (`localhost`, where
# the other services use 127.0.0.1), on the same server.
MOTO_S3_ENDPOINTS_VARIABLE = "MOTO_S3_CUSTOM_ENDPOINTS"


def s3_endpoint(aws: EmulatedAws) -> str:
    return aws.endpoint.replace("127.0.0.1", "localhost", 1)


# The local Twilio account (secret messaging-twilio) that the local Twilio API accepts.
LOCAL_TWILIO_ACCOUNT_SID = "AC" + "0" * 31 + "1"
LOCAL_TWILIO_AUTH_TOKEN = "localtwilioauthtokendonotuseinaws"


@dataclass
class LocalStack:
    aws: EmulatedAws
    stack: Stack
    session: Any
    runtime: LambdaRuntime
    providers: Providers
    pipe: Pipes
    # The default bus's rules that invoke functions (the reconciler), and the schedules.
    events: LocalEventBridge
    # EventBridge Scheduler's one-time schedules (scheduled sends), fired at their time.
    scheduler: LocalScheduler | None = None
    http: HttpServer | None = None
    api_key: str = ""
    api_port: int = 0  # chosen at start: the functions' STATUS_CALLBACK_URL points there
    twilio: HttpServer | None = None
    sms: HttpServer | None = None
    # SQS -> Lambda event sources from the template (InboundQueue -> InboundFunction).
    pollers: list[SqsPoller] = field(default_factory=list)
    # DynamoDB stream -> Lambda event sources (the traces table -> StatusEventsFunction).
    stream_pollers: list[StreamPoller] = field(default_factory=list)
    # Every AWS request the stack's own clients make (handlers, interpreter, pipe, API).
    aws_requests: botocore_hooks.RequestCounter = field(
        default_factory=botocore_hooks.RequestCounter
    )
    # Registered on the stack's sessions; removed when it stops.
    hooks: botocore_hooks.SessionHooks | None = None
    # Background work waits while API requests are in flight (emulator/priority.py).
    api_first: ApiFirst = field(default_factory=ApiFirst)
    # ARNs of the executions whose end was reported (their status-change event put).
    ended: set[str] = field(default_factory=set)
    # The process's endpoint variables before start, put back at stop.
    environment_before: dict[str, str | None] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        name: str = "messaging",
        port: int | None = None,
        api_port: int | None = None,
        template: dict[str, Any] | None = None,
        **parameters: str,
    ) -> LocalStack:
        """Provision template.yaml; `parameters` override its parameters (e.g. LogLevel).

        `api_port` is where serve() will listen (default: a free port). Parameters that the
        template's `Rules` refuse raise RuleViolation before anything starts. `template`
        replaces template.yaml (a test's resources beside the stack's: `load_template()`).
        """
        parameters = (
            LOCAL_PARAMETERS
            | {
                "JwtSecretValue": LOCAL_JWT_SECRET,
                "TwilioAccountSid": LOCAL_TWILIO_ACCOUNT_SID,
                "TwilioAuthToken": LOCAL_TWILIO_AUTH_TOKEN,
            }
            | parameters
        )
        template = template if template is not None else load_template()
        Stack(None, name, parameters, template=template).check_rules()
        aws = EmulatedAws(port or free_port()).start()
        os.environ.update(client_environment())
        environment_before = {
            key: os.environ.get(key)
            for key in (SMS_ENDPOINT_VARIABLE, S3_ENDPOINT_VARIABLE, MOTO_S3_ENDPOINTS_VARIABLE)
        }
        os.environ[S3_ENDPOINT_VARIABLE] = os.environ[MOTO_S3_ENDPOINTS_VARIABLE] = s3_endpoint(aws)
        providers = Providers()
        runtime = LambdaRuntime(concurrency=40)
        aws_requests = botocore_hooks.RequestCounter()
        api_first = ApiFirst()
        hooks = botocore_hooks.SessionHooks(
            {
                "before-send.lambda.Invoke": runtime.on_invoke,
                "before-parameter-build": api_first.yield_to_api,
                "before-call": aws_requests,
                "before-parameter-build.events.PutEvents": aws_requests.count_entries,
                "before-parameter-build.sqs": aws_requests.count_queue,
                **providers.hooks(),
            }
        )
        # The sessions exist before any client: the functions' and the interpreter's
        # `boto3.client(...)` use the default one, the stack's own pieces `session`.
        hooks.default_session(region_name=REGION)
        session = hooks.session(region_name=REGION)
        twilio = TwilioApi(providers, LOCAL_TWILIO_ACCOUNT_SID, LOCAL_TWILIO_AUTH_TOKEN)
        twilio_server = twilio.start(free_port())
        sms_server = SmsApi(providers).start(free_port())
        # boto3's per-service endpoint variable: the SMS client finds the local SMS API.
        os.environ[SMS_ENDPOINT_VARIABLE] = sms_server.url
        api_port = api_port or free_port()
        stack = Stack(session, name, parameters, template=template).deploy()
        endpoints = {
            "TWILIO_API_URL": twilio_server.url,
            "STATUS_CALLBACK_URL": f"http://127.0.0.1:{api_port}/webhook",
        }
        runtime.deploy(stack.functions(overrides=LOCAL_FUNCTION_ENVIRONMENT | endpoints))
        pipe = Pipes(session.client("sqs"), session.client("stepfunctions"), pipe_specs(stack))
        api_key = stack.physical("ApiKey")["Value"]
        sqs = session.client("sqs")
        pollers = [SqsPoller(source, sqs, runtime) for source in sqs_event_sources(stack)]
        streams = session.client("dynamodbstreams", config=STREAMS_CLIENT_CONFIG)
        stream_pollers = [
            StreamPoller(source, streams, sqs, runtime) for source in stream_event_sources(stack)
        ]
        events = LocalEventBridge(
            runtime, rule_targets(stack), schedule_targets(stack), async_configs(stack), sqs
        )
        local = cls(
            aws,
            stack,
            session,
            runtime,
            providers,
            pipe,
            events,
            scheduler=LocalScheduler(session.client("scheduler"), sqs),
            api_key=api_key,
            api_port=api_port,
            twilio=twilio_server,
            sms=sms_server,
            pollers=pollers,
            stream_pollers=stream_pollers,
            aws_requests=aws_requests,
            hooks=hooks,
            api_first=api_first,
            environment_before=environment_before,
        )
        EXECUTION_END_LISTENERS.append(local.execution_ended)
        S3_FUNCTION_NOTIFICATIONS.append(local.s3_notified)
        return local

    def execution_ended(self, execution: Any) -> None:
        """Step Functions emits status changes of STANDARD executions only (best effort)."""
        if getattr(execution.sm_type, "value", execution.sm_type) == "STANDARD":
            self.events.put(status_change_event(execution, self.stack.region, ACCOUNT_ID))
        self.ended.add(execution.exec_arn)

    def s3_notified(self, function_arn: str, event: dict[str, Any]) -> None:
        """S3 invokes a notified function asynchronously (its `Events: Type: S3`)."""
        if self.runtime.deployed(function_arn):
            self.events.invoke_async(function_arn.rsplit(":function:", 1)[-1], event)

    def buckets(self) -> list[str]:
        """The names of the template's buckets."""
        return [
            self.stack.physical(logical_id)["Ref"]
            for logical_id, resource in self.stack.resources()
            if resource["Type"] == "AWS::S3::Bucket"
        ]

    def serve(self) -> LocalStack:
        """Start the HTTP API (on the port chosen at start) and the pipe in the background."""
        self.http = self.serve_api(self.api_port)
        for pipe in self.pipe.threads():
            pipe.start()
            self._threads.append(pipe)
        for poller in [*self.pollers, *self.stream_pollers]:
            thread = threading.Thread(target=poller.run, name=poller.source.function, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._threads += self.events.run_schedules()
        if self.scheduler:
            self._threads.append(self.scheduler.run())
        return self

    def serve_api(self, port: int | None = None, **parameters: str) -> HttpServer:
        """Serve this stack's API on another port, the caller stops it.

        `parameters` override the template parameters the API reads (ThrottleRateLimit,
        ThrottleBurstLimit, DailyQuotaLimit, ...), so one stack can be served behind tighter
        limits too: its limits live in the API alone, while a second LocalStack in the same
        process would share moto's backends and the imported handler modules with the first.
        """
        stack = replace(self.stack, parameters=self.stack.parameters | parameters)
        api_keys = {self.api_key: self.stack.physical("ApiKey")["Ref"]}
        api = ApiGateway(api_definition(stack), self.runtime, self.client("sqs"), api_keys)
        port = port or free_port()
        url = f"http://127.0.0.1:{port}/"
        info = {
            "StackName": self.stack.name,
            "Endpoint": self.aws.endpoint,
            "ApiUrl": url,
            "ApiKey": self.api_key,
            # The URLs this API serves, where the template gives API Gateway's.
            "Outputs": self.stack.outputs()
            | {"ApiUrl": url, "WebhookUrl": url + "webhook", "TriggerUrl": url + "trigger"},
        }
        app = LocalHttp(api, self.providers, info, self.stats)
        return HttpServer(app, port, self.api_first).start()

    def stats(self) -> dict[str, Any]:
        """What the event sources did since start, by function (for `messaging stats`)."""
        return {
            "EventSources": {
                poller.source.function: {"Done": poller.done, "Returned": poller.returned}
                for poller in self.pollers
            }
        }

    def seed_demo(self) -> LocalStack:
        """What a deployer does once by hand: a verified sender, the demo templates, and the
        registration bot's trigger for the default API key (`POST /trigger`)."""
        self.client("sesv2").create_email_identity(EmailIdentity=DEMO_SENDER_DOMAIN)
        for template in ("template-alert.json", "template-registration-invitation.json"):
            item = json.loads((EVENTS / template).read_text())
            self.client("dynamodb").put_item(TableName="MessageTemplates", Item=item)
        definition = json.loads((EVENTS / "trigger-registration-invitation.json").read_text())
        trigger = Trigger.from_definition(REGISTRATION_INVITATION, definition)
        owner = key_owner(self.stack.physical("ApiKey")["Ref"])
        item = trigger_item(owner, trigger, datetime.now(UTC).isoformat(timespec="seconds"))
        table = self.session.resource("dynamodb").Table(self.stack.physical("TenantsTable")["Ref"])
        table.put_item(Item=item)
        return self

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def stop(self) -> None:
        if self.execution_ended in EXECUTION_END_LISTENERS:
            EXECUTION_END_LISTENERS.remove(self.execution_ended)
        if self.s3_notified in S3_FUNCTION_NOTIFICATIONS:
            S3_FUNCTION_NOTIFICATIONS.remove(self.s3_notified)
        self.events.stop()
        if self.scheduler:
            self.scheduler.stop()
        self.pipe.stop()
        for poller in [*self.pollers, *self.stream_pollers]:
            poller.stop()
        if self.http:
            self.http.stop()
        for provider in (self.twilio, self.sms):
            if provider:
                provider.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.hooks:
            self.hooks.remove()
        self.aws.stop()
        for key, value in self.environment_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def parameter_overrides(argv: list[str]) -> dict[str, str]:
    """`Key=Value` arguments, as `sam deploy --parameter-overrides` takes them."""
    pairs = [arg.split("=", 1) for arg in argv]
    if any(len(pair) != 2 or not pair[0] for pair in pairs):
        raise SystemExit(f"expected ParameterKey=Value arguments, got {' '.join(argv)!r}")
    return dict(pairs)
