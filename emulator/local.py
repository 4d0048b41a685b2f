"""Assemble the local stack: emulated AWS, template resources, Lambda runtime, API, pipe."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from emulator import botocore_hooks
from emulator.api_gateway import ApiGateway, api_settings
from emulator.aws import REGION, EmulatedAws, client_environment, free_port
from emulator.http import HttpServer, LocalHttp
from emulator.lambdas import LambdaRuntime
from emulator.pipe import Pipe
from emulator.providers import Providers
from emulator.stack import Stack

EVENTS = Path(__file__).resolve().parent.parent / "events"
DEMO_SENDER_DOMAIN = "example.com"
LOCAL_JWT_SECRET = "local-development-secret-do-not-use-in-aws"
# Local configuration, not code: shorter caches, so a rotated secret or a template put
# with the AWS CLI shows within seconds instead of minutes.
LOCAL_FUNCTION_ENVIRONMENT = {"JWT_SECRET_MAX_AGE_SECONDS": "2", "TEMPLATE_CACHE_SECONDS": "1"}


@dataclass
class LocalStack:
    aws: EmulatedAws
    stack: Stack
    session: Any
    runtime: LambdaRuntime
    providers: Providers
    pipe: Pipe
    http: HttpServer | None = None
    api_key: str = ""
    _threads: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(
        cls, name: str = "messaging", port: int | None = None, **parameters: str
    ) -> LocalStack:
        """Provision template.yaml; `parameters` override its parameters (e.g. LogLevel)."""
        aws = EmulatedAws(port or free_port()).start()
        os.environ.update(client_environment())
        providers = Providers()
        runtime = LambdaRuntime()
        # Hooks go in before any client exists; functions are deployed once the stack is.
        botocore_hooks.install(
            {"before-send.lambda.Invoke": runtime.on_invoke, **providers.hooks()}
        )
        session = boto3.Session(region_name=REGION)
        stack = Stack(session, name, {"JwtSecretValue": LOCAL_JWT_SECRET, **parameters}).deploy()
        runtime.deploy(stack.functions(overrides=LOCAL_FUNCTION_ENVIRONMENT))
        pipe = Pipe(
            session.client("sqs"),
            session.client("stepfunctions"),
            stack.physical("MessageQueue"),
            stack.physical("DeliveryStateMachine")["Ref"],
        )
        api_key = stack.physical("ApiKey")["Value"]
        return cls(aws, stack, session, runtime, providers, pipe, api_key=api_key)

    def serve(self, api_port: int | None = None) -> LocalStack:
        """Start the HTTP API and the pipe in the background."""
        api = ApiGateway(
            api_settings(self.stack),
            self.runtime,
            self.client("sqs"),
            self.stack.physical("MessageQueue")["QueueUrl"],
            {self.api_key},
        )
        port = api_port or free_port()
        info = {
            "StackName": self.stack.name,
            "Endpoint": self.aws.endpoint,
            "ApiUrl": f"http://127.0.0.1:{port}/",
            "ApiKey": self.api_key,
            "Outputs": self.stack.outputs() | {"ApiUrl": f"http://127.0.0.1:{port}/"},
        }
        self.http = HttpServer(LocalHttp(api, self.providers, info), port).start()
        pipe = threading.Thread(target=self.pipe.run, name="pipe", daemon=True)
        pipe.start()
        self._threads.append(pipe)
        return self

    def seed_demo(self) -> LocalStack:
        """What a deployer does once by hand: a verified sender and the demo template."""
        self.client("sesv2").create_email_identity(EmailIdentity=DEMO_SENDER_DOMAIN)
        item = json.loads((EVENTS / "template-alert.json").read_text())
        self.client("dynamodb").put_item(TableName="MessageTemplates", Item=item)
        return self

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def stop(self) -> None:
        self.pipe.stop()
        if self.http:
            self.http.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self.aws.stop()
