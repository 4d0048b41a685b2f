"""Which stack a command talks to: the local stack (its control API) or a deployed stack."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from cli.aws import describe_client_error
from cli.errors import CommandError

DEFAULT_LOCAL_URL = "http://127.0.0.1:3000"
LOCAL_REGION = "us-east-1"
# Without retries: a probe for an unimplemented action fails at once instead of backing off.
NO_RETRIES = Config(retries={"total_max_attempts": 1})


def local_url() -> str:
    return os.environ.get("MESSAGING_LOCAL_URL", DEFAULT_LOCAL_URL).rstrip("/")


def no_local_stack(url: str) -> CommandError:
    return CommandError(f"no local stack at {url} (start it with `make run`, or pass --stack NAME)")


@dataclass
class Target:
    """A stack's outputs and how to reach its AWS resources and its API."""

    name: str
    session: boto3.Session
    outputs: dict[str, str]
    endpoint_url: str | None = None  # the local stack's emulated AWS; None = normal AWS
    local_url: str | None = None  # set only for the local stack
    api_key_value: str | None = field(default=None, repr=False)

    @property
    def is_local(self) -> bool:
        """The local stack (its emulator lacks some AWS operations), not a deployed one."""
        return self.local_url is not None

    def client(self, service: str, *, retries: bool = True) -> Any:
        config = None if retries else NO_RETRIES
        return self.session.client(service, endpoint_url=self.endpoint_url, config=config)

    def resource(self, service: str) -> Any:
        return self.session.resource(service, endpoint_url=self.endpoint_url)

    def output(self, key: str) -> str:
        if key not in self.outputs:
            raise CommandError(f"stack {self.name} has no output {key}")
        return self.outputs[key]

    @property
    def jwt_secret_name(self) -> str:
        # template.yaml names the secret after the stack; its output says the same.
        return self.outputs.get("JwtSecretName", f"{self.name}-jwt-secret")

    def api_key(self) -> str:
        if self.api_key_value is None:
            response = self.client("apigateway").get_api_key(
                apiKey=self.output("ApiKeyId"), includeValue=True
            )
            self.api_key_value = response["value"]
        return self.api_key_value


def local_target(url: str) -> Target:
    try:
        response = requests.get(f"{url}/_local/stack", timeout=5)
    except requests.RequestException:
        raise no_local_stack(url) from None
    try:
        info = response.json() if response.status_code == 200 else None
    except ValueError:
        info = None
    if not isinstance(info, dict) or "Endpoint" not in info:
        raise CommandError(f"{url} is not a local messaging stack (GET /_local/stack failed)")
    return target_from_info(url, info)


def target_from_info(url: str, info: dict[str, Any]) -> Target:
    """The local stack at `url`, from what its GET /_local/stack answers (`info`)."""
    outputs = dict(info.get("Outputs", {}))
    if info.get("ApiUrl"):
        outputs["ApiUrl"] = info["ApiUrl"]
    return Target(
        name=info.get("StackName", "messaging"),
        session=boto3.Session(region_name=LOCAL_REGION, **local_credentials()),
        outputs=outputs,
        endpoint_url=info["Endpoint"],
        local_url=url,
        api_key_value=info.get("ApiKey"),
    )


def local_credentials() -> dict[str, str]:
    # The emulator accepts any keys; keys set in the environment are used as they are.
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        return {}
    return {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def deployed_target(name: str) -> Target:
    session = boto3.Session()
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        raise CommandError(f"cannot read stack {name}: {describe_client_error(exc)}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Target(name=name, session=session, outputs=outputs)


@dataclass
class Context:
    """What every command gets: the --stack choice, resolved to a Target on first use."""

    stack: str | None
    local_url: str
    _target: Target | None = field(default=None, repr=False)

    def target(self) -> Target:
        if self._target is None:
            self._target = (
                deployed_target(self.stack) if self.stack else local_target(self.local_url)
            )
        return self._target

    def local_only(self, feature: str) -> str:
        """The control API's URL; `feature` exists only in the local stack."""
        if self.stack:
            raise CommandError(f"{feature} exists only in the local stack")
        return self.local_url
