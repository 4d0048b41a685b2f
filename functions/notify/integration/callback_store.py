"""A tenant's callback: its URL in the tenants table, its secret in Secrets Manager.

The item (Tenant = owner, Sk = CALLBACK) holds the URL and the secret's name; the
secret is `<prefix>/<kind>/<id>` (`messaging-callbacks/customer/acme`), so IAM can grant
the functions exactly the stack's callback secrets. The secret is never returned by the
API and never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from notify.domain.callbacks import Callback
from notify.integration.aws_errors import aws_errors, classify_client_error
from notify.integration.ttl_cache import TtlCache

# The Sk of a tenant's callback item in the tenants table.
CALLBACK_SK = "CALLBACK"


def secret_name(prefix: str, owner: str) -> str:
    # Tenant ids use only characters a secret's name allows; ":" becomes a path step.
    return f"{prefix}/{owner.replace(':', '/', 1)}"


class CallbackStore:
    def __init__(
        self,
        dynamodb: Any,
        table_name: str,
        secrets: Any,
        secret_prefix: str,
        ttl_seconds: float = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._secrets = secrets
        self._prefix = secret_prefix
        self._cache: TtlCache[Callback | None] = TtlCache(ttl_seconds, clock)

    def put(self, owner: str, url: str, secret: str, at: str) -> None:
        """Store the secret first, then the item that names it: a reader never finds an
        item whose secret is missing."""
        name = secret_name(self._prefix, owner)
        self._put_secret(name, secret)
        with aws_errors():
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "Tenant": {"S": owner},
                    "Sk": {"S": CALLBACK_SK},
                    "Url": {"S": url},
                    "SecretName": {"S": name},
                    "UpdatedAt": {"S": at},
                },
            )

    def get(self, owner: str) -> dict[str, str] | None:
        """The registration as the API shows it: Url and UpdatedAt, never the secret."""
        item = self._item(owner)
        if item is None:
            return None
        return {"Url": item["Url"]["S"], "UpdatedAt": item["UpdatedAt"]["S"]}

    def delete(self, owner: str) -> bool:
        """Remove the item, then its secret; False when the tenant had no callback."""
        with aws_errors():
            old = self._dynamodb.delete_item(
                TableName=self._table,
                Key={"Tenant": {"S": owner}, "Sk": {"S": CALLBACK_SK}},
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        if old is None:
            return False
        try:
            self._secrets.delete_secret(
                SecretId=old["SecretName"]["S"], ForceDeleteWithoutRecovery=True
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise classify_client_error(exc) from exc
        return True

    def callback(self, owner: str) -> Callback | None:
        """The tenant's callback with its secret (cached for the store's ttl), or None."""
        return self._cache.get(owner, lambda: self._load(owner))

    def _load(self, owner: str) -> Callback | None:
        item = self._item(owner)
        if item is None:
            return None
        with aws_errors():
            secret = self._secrets.get_secret_value(SecretId=item["SecretName"]["S"])
        return Callback(item["Url"]["S"], secret["SecretString"])

    def _item(self, owner: str) -> dict[str, Any] | None:
        with aws_errors():
            return self._dynamodb.get_item(
                TableName=self._table,
                Key={"Tenant": {"S": owner}, "Sk": {"S": CALLBACK_SK}},
                ConsistentRead=True,
            ).get("Item")

    def _put_secret(self, name: str, secret: str) -> None:
        try:
            self._secrets.put_secret_value(SecretId=name, SecretString=secret)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise classify_client_error(exc) from exc
        with aws_errors():
            self._secrets.create_secret(
                Name=name, SecretString=secret, Description="A tenant's callback signing secret."
            )
