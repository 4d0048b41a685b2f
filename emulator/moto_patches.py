"""Corrections and speed-ups of moto's internals, all in one place, for one moto version.

Each one makes the emulator behave as AWS does (or run faster) where moto differs. They
reach into moto's private modules, so they are checked against the version they were
written for: on any other, `apply` fails loudly instead of half-working.
tests/unit/emulator/test_moto_patches.py shows each one takes effect (the Distributed Map's
test_distributed_map.py, S3's events test_s3_local.py, through the local stack).
"""

from __future__ import annotations

import functools
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import boto3
import jsonpath_ng
import jsonpath_ng.ext
import moto
from moto.core.utils import unix_time
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.utilities import dynamo_json_dump
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.s3 import notifications as s3_notifications
from moto.sqs.exceptions import InvalidParameterValue, SQSException
from moto.sqs.models import SQSBackend
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (  # noqa: E501
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import boto_client, json_path
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

from emulator import distributed_map

WRITTEN_FOR = "5.2.5"


def apply() -> None:
    """Apply every patch (each once); refuse a moto version they were not written for."""
    if moto.__version__ != WRITTEN_FOR:
        raise RuntimeError(
            f"emulator/moto_patches.py was written for moto {WRITTEN_FOR}, not "
            f"{moto.__version__}: check each patch against the new version, then update "
            "WRITTEN_FOR (requirements-dev.txt pins moto)"
        )
    run_distributed_maps()  # before the memo, so that it remembers the accepted definition
    memoise_asl_parser()
    memoise_json_paths()
    plain_stream_records()
    memoise_update_expressions()
    cheap_retention_checks()
    reuse_interpreter_clients()
    report_execution_ends()
    first_end_wins()
    empty_filters_match_nothing()
    atomic_dynamodb()
    refuse_what_sqs_refuses()
    complete_s3_events()
    notify_functions_of_s3_events()


def memoise_asl_parser() -> None:
    """Parse each state machine definition once, not once per execution.

    moto's interpreter (a port of LocalStack's) runs ANTLR over the whole ASL for every
    execution, about half of an execution's CPU here. The parsed program keeps no
    per-execution state: evaluation state lives in the Environment, and an inline Map
    already runs its iterations concurrently on the same parsed states.
    """
    parse = AmazonStateLanguageParser.parse
    if not hasattr(parse, "cache_info"):
        AmazonStateLanguageParser.parse = staticmethod(functools.lru_cache(maxsize=32)(parse))


def memoise_json_paths() -> None:
    """Parse each JSONPath once, not at every use.

    jsonpath_ng builds a new yacc parser for every `parse` call (about 1 ms). moto's
    EventBridge parses its 8 input paths for every event and target (a third of the CPU
    of the status events), its ASL interpreter a path for each one it evaluates. A
    parsed path is immutable: `find` builds its matches apart.
    """
    if hasattr(jsonpath_ng.ext.parse, "cache_info"):
        return
    ext_parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)
    # moto.events imports `parse` from jsonpath_ng.ext when called; the interpreter at import.
    jsonpath_ng.ext.parse = json_path.parse = ext_parse
    result_path.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.parse)


def plain_stream_records() -> None:
    """Answer GetRecords with the records as JSON, as moto's DynamoDB answers its reads.

    moto's generic response serializer looks up every attribute of every image through
    its alias rules: about a third of the CPU of reading the traces table's stream.
    """
    if getattr(DynamoDBStreamsHandler.get_records, "plain", False):
        return

    def get_records(self: DynamoDBStreamsHandler) -> str:
        limit = self._get_param("Limit")
        result = self.backend.get_records(self._get_param("ShardIterator"), limit or 1000)
        return dynamo_json_dump(result)  # datetimes as epoch seconds, as AWS sends them

    get_records.plain = True  # type: ignore[attr-defined]
    DynamoDBStreamsHandler.get_records = get_records


def memoise_update_expressions() -> None:
    """Parse each DynamoDB update expression once, not twice per UpdateItem.

    The handler and the backend each tokenise and parse it (a fifth of an UpdateItem's
    CPU); the tree is only read (`find_clauses`) or deep-copied before it is validated.
    """
    make = UpdateExpressionParser.make
    if hasattr(make, "cache_info"):
        return
    UpdateExpressionParser.make = functools.lru_cache(maxsize=256)(make)


def cheap_retention_checks() -> None:
    """Check a received message's retention period without counting the whole queue.

    moto reads the period through `get_queue_attributes`, which computes every attribute
    (the approximate counts walk every message) for each message received: quadratic in
    a backlog, and the pipe's largest cost under load.
    """
    original = SQSBackend.is_message_valid_based_on_retention_period
    if getattr(original, "cheap", False):
        return

    def valid(self: SQSBackend, queue_name: str, message: Any) -> bool:
        period = int(self.get_queue(queue_name).message_retention_period)
        return period + message.sent_timestamp / 1000 > unix_time()

    valid.cheap = True  # type: ignore[attr-defined]
    SQSBackend.is_message_valid_based_on_retention_period = valid


def reuse_interpreter_clients() -> None:
    """Give the interpreter one boto3 client per service instead of one per task.

    moto's interpreter builds a new client for every Lambda or SDK task, the largest
    cost of a local execution after parsing. Clients are thread-safe, and moto's
    `boto_client_for` ignores the task's credentials, so one per region and service
    is the same client. It is one per default session too: a client keeps the hooks
    of the session it was made from, and each local stack installs its own.
    """
    original = boto_client.boto_client_for
    if hasattr(original, "cache_info"):
        return

    @functools.lru_cache(maxsize=64)
    def shared(session: Any, region: str, service: str) -> Any:
        return original(region, service)

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        return shared(boto3.DEFAULT_SESSION, region, service)

    client_for.cache_info = shared.cache_info  # marks the patch as done
    # Each task module imported the function by name; replace every such reference.
    for module in list(sys.modules.values()):
        if getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = client_for


# Called with moto's Execution when a state machine execution ends (any status).
EXECUTION_END_LISTENERS: list[Callable[[Any], None]] = []


def report_execution_ends() -> None:
    """Tell EXECUTION_END_LISTENERS when an execution ends, as Step Functions tells EventBridge.

    moto emits no "Execution Status Change" events; its worker calls `terminated()`
    once the execution's final status is set, whether it succeeded, failed, timed out
    or was stopped.
    """
    original = BaseExecutionWorkerCommunication.terminated
    if getattr(original, "reports_ends", False):
        return

    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        original(self)
        for listener in list(EXECUTION_END_LISTENERS):
            listener(self.execution)

    terminated.reports_ends = True  # type: ignore[attr-defined]
    BaseExecutionWorkerCommunication.terminated = terminated


def first_end_wins() -> None:
    """An execution's first end is final, as in Step Functions.

    moto lets a later error overwrite a stop: stopping an execution mid-Map ends it
    FAILED (the aborted iterations' error) instead of ABORTED. Its `set_ended` and
    `set_stop` already apply only while running; this makes `set_error` and
    `set_timed_out` do the same.
    """
    for name in ("set_error", "set_timed_out"):
        original = getattr(Environment, name)
        if getattr(original, "first_end_wins", False):
            continue

        def only_while_running(
            self: Environment, *args: Any, _original: Any = original, **kwargs: Any
        ) -> None:
            if self.is_running():
                _original(self, *args, **kwargs)

        only_while_running.first_end_wins = True  # type: ignore[attr-defined]
        setattr(Environment, name, only_while_running)


def empty_filters_match_nothing() -> None:
    """A JSONPath filter that matches nothing yields [], as Step Functions' Jayway does.

    moto (like LocalStack, whose interpreter it ports) returns [] for an indefinite path
    with a wildcard or a slice, but raises States.Runtime for a filter (`[?(...)]`),
    which is just as indefinite. The Delivery Map's ResultSelector filters its outcomes.
    """
    original = json_path._contains_slice_or_wildcard_array
    if getattr(original, "filters_too", False):
        return

    def indefinite(path: str) -> bool:
        return "[?(" in path or original(path)

    indefinite.filters_too = True  # type: ignore[attr-defined]
    json_path._contains_slice_or_wildcard_array = indefinite


_DYNAMODB = threading.RLock()
# Every call that reads or writes an item: moto updates an item in place, so a read that
# copies it while a write changes it fails ("dictionary changed size during iteration").
_DYNAMODB_CALLS = (
    *("put_item", "update_item", "delete_item", "transact_write_items"),
    *("get_item", "query", "scan"),
)


def atomic_dynamodb() -> None:
    """A conditional write checks and writes as one step, and a read sees whole items, as
    DynamoDB does per item.

    moto's backend takes no lock, so two threads can both pass a condition (two sends
    claiming one recipient at once, as at-least-once delivery makes them), and a query can
    copy an item another thread is updating. Every read and write goes through one lock
    here: the emulator is one process under one GIL anyway.
    """
    for name in _DYNAMODB_CALLS:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "atomic", False):
            continue

        def atomic(
            self: DynamoDBBackend, *args: Any, _original: Any = original, **kwargs: Any
        ) -> Any:
            with _DYNAMODB:
                return _original(self, *args, **kwargs)

        atomic.atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, atomic)


# The characters SQS accepts in a message body or a String attribute value (XML 1.0's).
_SQS_TEXT = re.compile("[\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
# SendMessage's answer to a body holding any other character (AWS's wording).
INVALID_BODY = (
    "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | "
    "#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
)


class InvalidMessageContents(SQSException):
    def __init__(self) -> None:
        super().__init__("InvalidMessageContents", INVALID_BODY)


def _check_contents(body: str, attributes: dict[str, Any] | None) -> None:
    if not _SQS_TEXT.fullmatch(body):
        raise InvalidMessageContents()
    for name, value in (attributes or {}).items():
        if not _SQS_TEXT.fullmatch(value.get("StringValue") or ""):
            raise InvalidParameterValue(
                f"Message (user) attribute '{name}' contains characters outside the allowed "
                "set: a String value has the same restrictions as the message body."
            )


def refuse_what_sqs_refuses() -> None:
    """Refuse a message holding characters SQS refuses, as SendMessage does (400).

    moto stores it, then fails (500) on every receive that returns it, and the
    SendMessage itself fails after storing when it computes the attributes' MD5: a
    retried send stores it again. AWS answers InvalidMessageContents for the body (the
    API reference's error); a String attribute has the body's restrictions, refused here
    with InvalidParameterValue, SQS's code for an attribute it refuses. A batch refuses
    such entries one by one, as failed entries, and sends the others.
    """
    original_send = SQSBackend.send_message
    if getattr(original_send, "checks_contents", False):
        return
    original_batch = SQSBackend.send_message_batch

    def send_message(
        self: SQSBackend,
        queue_name: str,
        message_body: str,
        message_attributes: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        _check_contents(message_body, message_attributes)
        return original_send(self, queue_name, message_body, message_attributes, *args, **kwargs)

    def send_message_batch(
        self: SQSBackend, queue_name: str, entries: dict[str, dict[str, Any]]
    ) -> tuple[list[Any], list[dict[str, Any]]]:
        valid, refused = {}, []
        for key, entry in entries.items():
            try:
                _check_contents(entry["MessageBody"], entry.get("MessageAttributes"))
            except SQSException as exc:
                refused.append(
                    {"Id": entry["Id"], "SenderFault": True, "Code": exc.code}
                    | {"Message": exc.message}
                )
            else:
                valid[key] = entry
        messages, failed = original_batch(self, queue_name, valid) if valid else ([], [])
        return messages, [*failed, *refused]

    send_message.checks_contents = True  # type: ignore[attr-defined]
    SQSBackend.send_message = send_message
    SQSBackend.send_message_batch = send_message_batch


def _patched(function: Any, marker: str) -> bool:
    """Whether `function`, or one it wraps (functools), carries the patch's marker."""
    while function is not None:
        if getattr(function, marker, False):
            return True
        function = getattr(function, "__wrapped__", None)
    return False


def run_distributed_maps() -> None:
    """Run Distributed Map states as Step Functions does (emulator/distributed_map.py).

    moto's grammar refuses ItemBatcher, EXPRESS children and a whole-number
    ToleratedFailurePercentage; its children share the parent's `$$.Execution` and history,
    never fail the Map whatever its tolerance, keep starting after a stop; its ResultWriter
    writes an empty manifest. Inline Maps stay moto's.
    """
    parse = AmazonStateLanguageParser.parse
    if not _patched(parse, "accepts_distributed_maps"):
        AmazonStateLanguageParser.parse = staticmethod(distributed_map.accept(parse))
    original = StateMap._eval_execution
    if getattr(original, "distributed", False):
        return

    def eval_execution(self: StateMap, env: Environment) -> None:
        if isinstance(self.iteration_component, DistributedIterationComponent):
            distributed_map.evaluate(self, env)
        else:
            original(self, env)

    eval_execution.distributed = True  # type: ignore[attr-defined]
    StateMap._eval_execution = eval_execution


# The principal S3 names as the uploader and the bucket's owner in local events.
LOCAL_PRINCIPAL = "LOCALSTACKPRINCIPAL"
# Called with (function ARN, event) for each S3 event notification that targets a function.
S3_FUNCTION_NOTIFICATIONS: list[Callable[[str, dict[str, Any]], None]] = []


def complete_s3_events() -> None:
    """Give S3 event notifications every field S3 sends.

    moto's records lack `userIdentity`, `requestParameters`, `responseElements`, the
    bucket's `ownerIdentity` and the object's `sequencer` (and `versionId` in a versioned
    bucket), and its key escapes every `/`: S3 sends `uploads/red+flower.csv` for
    `uploads/red flower.csv` (form-encoded, slashes kept), moto `uploads%2Fred+flower.csv`.
    """
    original = s3_notifications._get_s3_event
    if getattr(original, "complete", False):
        return

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        for record in event["Records"]:
            s3 = record.pop("s3")
            s3["bucket"]["ownerIdentity"] = {"principalId": LOCAL_PRINCIPAL}
            s3["object"]["key"] = quote_plus(key.name, safe="/")
            s3["object"]["sequencer"] = f"{time.time_ns():016X}"
            if getattr(key, "version_id", "null") not in (None, "null"):
                s3["object"]["versionId"] = key.version_id
            record |= {
                "userIdentity": {"principalId": f"AWS:{LOCAL_PRINCIPAL}"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": uuid.uuid4().hex,
                },
                "s3": s3,
            }
        return event

    s3_event.complete = True  # type: ignore[attr-defined]
    s3_notifications._get_s3_event = s3_event


def notify_functions_of_s3_events() -> None:
    """Hand S3 event notifications for functions to S3_FUNCTION_NOTIFICATIONS.

    moto invokes its own Lambda (Docker here) and drops the event when it cannot. It calls
    this inside the write that created the object (PutObject from any client, a PUT to a
    pre-signed URL through the endpoint, CopyObject, CompleteMultipartUpload): a listener
    invokes the function asynchronously, as S3 does.
    """
    if getattr(s3_notifications._invoke_awslambda, "listened", False):
        return

    def invoke(account_id: str, event: Any, function_arn: str, region_name: str) -> None:
        for listener in list(S3_FUNCTION_NOTIFICATIONS):
            listener(function_arn, event)

    invoke.listened = True  # type: ignore[attr-defined]
    s3_notifications._invoke_awslambda = invoke
