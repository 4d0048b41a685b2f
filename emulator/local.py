"""Assemble the local stack: emulated AWS, template resources, Lambda runtime, providers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

from emulator import botocore_hooks
from emulator.aws import REGION, EmulatedAws, client_environment, free_port
from emulator.lambdas import LambdaRuntime
from emulator.pipe import Pipe
from emulator.providers import Providers
from emulator.stack import Stack

LOCAL_JWT_SECRET = "local-development-secret-do-not-use-in-aws"


@dataclass
class LocalStack:
    aws: EmulatedAws
    stack: Stack
    session: Any
    runtime: LambdaRuntime
    providers: Providers
    pipe: Pipe

    @classmethod
    def start(cls, name: str = "messaging", port: int | None = None) -> LocalStack:
        aws = EmulatedAws(port or free_port()).start()
        os.environ.update(client_environment(aws.endpoint))
        providers = Providers()
        runtime_holder: dict[str, LambdaRuntime] = {}
        # Hooks go in before any client exists; the runtime is bound once the stack is known.
        botocore_hooks.install(
            {
                "before-send.lambda.Invoke": lambda **kw: runtime_holder["runtime"].on_invoke(**kw),
                **providers.hooks(),
            }
        )
        session = boto3.Session(region_name=REGION)
        stack = Stack(session, name, {"JwtSecretValue": LOCAL_JWT_SECRET}).deploy()
        runtime = runtime_holder["runtime"] = LambdaRuntime(stack.functions())
        outputs = stack.outputs()
        pipe = Pipe(
            session.client("sqs"),
            session.client("stepfunctions"),
            stack.physical("MessageQueue"),
            outputs["StateMachineArn"],
        )
        return cls(aws, stack, session, runtime, providers, pipe)

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def stop(self) -> None:
        self.pipe.stop()
        self.aws.stop()
