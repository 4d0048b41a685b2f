"""The Distributed Map state as Step Functions runs it, inside moto's interpreter.

moto (like LocalStack, whose interpreter it ports) runs a Distributed Map as an inline Map
with counters, and its grammar refuses part of the state:

- `ItemBatcher`, an `"ExecutionType": "EXPRESS"` item processor and a whole-number
  `ToleratedFailurePercentage` (its grammar takes only `"STANDARD"` and decimals) fail
  CreateStateMachine. `accept` takes them out of the definition before moto parses it and
  keeps them in a `MapDecl` on the parsed Map state.
- Its children share the parent's context (`$$.Execution.Id` is the parent's) and write
  their states' events into the parent's history. Here each child (an item, or a batch
  `{"BatchInput": ..., "Items": [...]}`) runs as an execution of its own: its own ARN,
  context and history, in a frame of the Map state so that StopExecution reaches it.
- A failed child never failed the Map, whatever its tolerance; here the Map Run fails with
  `States.ExceedToleratedFailureThreshold` once the failed items pass the tolerated count
  or percentage, and starts no more children.
- A stopped parent kept starting its remaining children; here none starts after the stop.
- Its ResultWriter wrote a manifest listing no files; here it writes
  `<Prefix>/<MapRunId>/manifest.json` with SUCCEEDED_0.json, FAILED_0.json and
  PENDING_0.json as Step Functions does, also when the Map Run fails or is aborted.

`evaluate` replaces StateMap's evaluation for Distributed Maps (emulator/moto_patches.py
installs both); inline Maps are moto's.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.stepfunctions.parser.api import (
    EvaluationFailedEventDetails,
    ExecutionFailedEventDetails,
    HistoryEventType,
    MapRunFailedEventDetails,
    MapRunStartedEventDetails,
    MapRunStatus,
    MapStateStartedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record import (  # noqa: E501
    MapRunRecord,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.eval.program_state import (
    ProgramEnded,
    ProgramError,
    ProgramStopped,
)
from moto.stepfunctions.parser.asl.eval.states import (
    ExecutionData,
    ItemData,
    MapData,
    StateMachineData,
)
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.asl.utils.json_path import extract_json

# Where `accept` leaves a Distributed Map's MapDecl on its parsed StateMap.
DECLARATION = "distributed_map"
THRESHOLD_ERROR = "States.ExceedToleratedFailureThreshold"
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"
# Step Functions runs up to 10,000 children at once when MaxConcurrency is 0 (or absent);
# locally as many as the Lambda runtime runs environments of one function.
LOCAL_CONCURRENCY = 40
# Child statuses whose items count against the tolerated failures (an aborted child does not).
_FAILURES = ("FAILED", "TIMED_OUT")
_PARSE = Callable[[str], tuple[Any, Any]]


# ---------------------------------------------------------------------- declaration
@dataclass(frozen=True)
class ItemBatcher:
    """`ItemBatcher`: how many items (or bytes) each child gets, and the input beside them."""

    max_items: int | None = None
    max_items_path: str | None = None
    max_bytes: int | None = None
    max_bytes_path: str | None = None
    # BatchInput, parsed as a Pass state's Parameters: evaluated against the Map's input.
    batch_input: Any = None

    @classmethod
    def from_definition(cls, batcher: dict[str, Any], parse: _PARSE) -> ItemBatcher:
        limits = ("MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch")
        if not any(key in batcher for key in (*limits, "MaxInputBytesPerBatchPath")):
            raise ValueError(
                "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path)"
            )
        if "{%" in json.dumps(batcher):
            raise ValueError("the local stack runs JSONPath ItemBatchers, not JSONata")
        batch_input = batcher.get("BatchInput")
        return cls(
            max_items=batcher.get("MaxItemsPerBatch"),
            max_items_path=batcher.get("MaxItemsPerBatchPath"),
            max_bytes=batcher.get("MaxInputBytesPerBatch"),
            max_bytes_path=batcher.get("MaxInputBytesPerBatchPath"),
            batch_input=None if batch_input is None else _parameters(batch_input, parse),
        )

    def batches(self, items: list[Any], env: Environment) -> list[dict[str, Any]]:
        """The children's inputs: `{"BatchInput": ..., "Items": [...]}`, items in order."""
        map_input = env.states.get_input()
        max_items = _limit(self.max_items, self.max_items_path, map_input)
        max_bytes = _limit(self.max_bytes, self.max_bytes_path, map_input)
        batch_input = {} if self.batch_input is None else _evaluate(self.batch_input, env)
        head = {"BatchInput": batch_input} if self.batch_input is not None else {}
        batches: list[list[Any]] = []
        size = 0
        for item in items:
            item_size = len(json.dumps(item).encode())
            full = batches and (
                (max_items and len(batches[-1]) >= max_items)
                or (max_bytes and size + item_size > max_bytes)
            )
            if not batches or full:
                batches.append([])
                size = len(json.dumps(head).encode())
            batches[-1].append(item)
            size += item_size
        return [head | {"Items": batch} for batch in batches]


@dataclass(frozen=True)
class MapDecl:
    """What moto's grammar refuses or forgets of a Distributed Map state."""

    execution_type: str = "STANDARD"  # of its children
    batcher: ItemBatcher | None = None
    # Which tolerances the state declares: with neither, any failed item fails the Map Run.
    declares_count: bool = False
    declares_percentage: bool = False


def accept(parse: _PARSE) -> _PARSE:
    """`parse`, but taking Distributed Maps as Step Functions takes them (see module doc)."""

    def parse_distributed_maps(definition: str) -> tuple[Any, Any]:
        try:
            document = json.loads(definition)
        except ValueError:
            return parse(definition)  # moto reports the syntax error
        declarations = _take_declarations(document, parse)
        if not declarations:
            return parse(definition)
        program, tree = parse(json.dumps(document))
        for state, parsed in _paired(document.get("States", {}), program.states):
            if id(state) in declarations:
                setattr(parsed, DECLARATION, declarations[id(state)])
        return program, tree

    parse_distributed_maps.accepts_distributed_maps = True  # type: ignore[attr-defined]
    return parse_distributed_maps


def _take_declarations(document: dict[str, Any], parse: _PARSE) -> dict[int, MapDecl]:
    """Each Distributed Map state's MapDecl (by id of its dictionary), rewriting the state
    into what moto's grammar accepts."""
    declarations = {}
    for state in _states(document.get("States", {})):
        config = state.get("ItemProcessor", {}).get("ProcessorConfig", {})
        if state.get("Type") != "Map" or config.get("Mode") != "DISTRIBUTED":
            continue
        batcher = state.pop("ItemBatcher", None)
        declarations[id(state)] = MapDecl(
            execution_type=config.get("ExecutionType", "STANDARD"),
            batcher=None if batcher is None else ItemBatcher.from_definition(batcher, parse),
            declares_count=any(
                k in state for k in ("ToleratedFailureCount", "ToleratedFailureCountPath")
            ),
            declares_percentage=any(
                k in state for k in ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath")
            ),
        )
        if "ExecutionType" in config:
            config["ExecutionType"] = "STANDARD"  # the only value moto's grammar knows
        percentage = state.get("ToleratedFailurePercentage")
        if isinstance(percentage, int) and not isinstance(percentage, bool):
            state["ToleratedFailurePercentage"] = float(percentage)  # a NUMBER, not an INT
    return declarations


def _states(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every state of a States object, nested ones (Map, Parallel) included."""
    for state in states.values():
        yield state
        for nested in _nested(state):
            yield from _states(nested)


def _nested(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        return [processor.get("States", {})]
    if state.get("Type") == "Parallel":
        return [branch.get("States", {}) for branch in state.get("Branches", [])]
    return []


def _paired(states: dict[str, Any], parsed: Any) -> Iterator[tuple[dict[str, Any], Any]]:
    """(state's dictionary, moto's parsed state) for every state, nested ones included."""
    for name, state in states.items():
        component = parsed.states[name]
        yield state, component
        if state.get("Type") == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            yield from _paired(processor["States"], component.iteration_component._states)
        elif state.get("Type") == "Parallel":
            for branch, program in zip(state["Branches"], component.branches.programs, strict=True):
                yield from _paired(branch["States"], program.states)


def _parameters(template: dict[str, Any], parse: _PARSE) -> Any:
    """A payload template, parsed as moto parses a Pass state's Parameters."""
    pass_state = {"Type": "Pass", "Parameters": template, "End": True}
    program, _ = parse(json.dumps({"StartAt": "Template", "States": {"Template": pass_state}}))
    return program.states.states["Template"].parameters


def _evaluate(template: Any, env: Environment, map_item: MapData | None = None) -> Any:
    """A payload template (Parameters, ItemSelector) evaluated against the Map's input."""
    frame = env.open_frame()
    try:
        if map_item is not None:
            frame.states.context_object.context_object_data["Map"] = map_item
        map_input = env.states.get_input()
        frame.states.reset(input_value=map_input)
        frame.stack.append(map_input)  # where moto's JSONPath reads `$` from
        template.eval(env=frame)
        return frame.stack.pop()
    finally:
        env.delete_frame(frame)


def _limit(value: int | None, path: str | None, map_input: Any) -> int | None:
    return int(extract_json(path, map_input)) if path else value


# ---------------------------------------------------------------------- evaluation
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Child:
    """A child workflow execution of a Map Run."""

    input: Any
    items: int  # how many of the Map Run's items it carries
    name: str = field(default_factory=lambda: str(uuid.uuid4()))
    arn: str = ""
    status: str = "PENDING"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start: str | None = None
    stop: str | None = None

    def result(self, state_machine_arn: str) -> dict[str, Any]:
        """Its entry in a ResultWriter's files (Transformation NONE)."""
        entry: dict[str, Any] = {}
        if self.arn:
            entry["ExecutionArn"] = self.arn
        entry |= {
            "Input": json.dumps(self.input, separators=(",", ":")),
            "InputDetails": {"Included": True},
            "Name": self.name,
        }
        if self.status == "SUCCEEDED":
            entry |= {
                "Output": json.dumps(self.output, separators=(",", ":")),
                "OutputDetails": {"Included": True},
            }
        if self.error is not None:
            entry["Error"] = self.error
        if self.cause is not None:
            entry["Cause"] = self.cause
        if self.start:
            entry["StartDate"] = self.start
        entry |= {"StateMachineArn": state_machine_arn, "Status": self.status}
        if self.stop:
            entry["StopDate"] = self.stop
        return entry


def evaluate(state: Any, env: Environment) -> None:
    """StateMap._eval_execution for a Distributed Map: the Map's result ends on env.stack."""
    state.max_concurrency_decl.eval(env=env)
    max_concurrency = env.stack.pop()
    declaration = getattr(state, DECLARATION, None) or MapDecl()
    items = None if state.item_reader else _input_items(state, env)
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.MapStateStarted,
        event_details=EventDetails(
            mapStateStartedEventDetails=MapStateStartedEventDetails(length=len(items or []))
        ),
    )
    # As moto does: tolerances are evaluated after the state's start, in a frame of their own.
    frame = env.open_frame()
    try:
        frame.states.reset(input_value=env.states.get_input())
        state.tolerated_failure_count_decl.eval(env=frame)
        state.tolerated_failure_percentage_decl.eval(env=frame)
        percentage, count = frame.stack.pop(), frame.stack.pop()
    finally:
        env.close_frame(frame)
    record = MapRunRecord(
        state_machine_arn=env.states.context_object.context_object_data["StateMachine"]["Id"],
        execution_arn=env.states.context_object.context_object_data["Execution"]["Id"],
        max_concurrency=max_concurrency,
        tolerated_failure_count=count,
        tolerated_failure_percentage=percentage,
        label=state.label.label if state.label else state.name,  # a Map Run is named so
    )
    env.map_run_record_pool_manager.add(record)
    MapRun(state, env, record, declaration).run(items)
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.MapStateSucceeded,
        update_source_event_id=False,
    )


def _input_items(state: Any, env: Environment) -> list[Any]:
    if state.items_path:
        state.items_path.eval(env=env)
    if state.items:
        state.items.eval(env=env)
    items = env.stack.pop()
    if not isinstance(items, list):
        error = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
        cause = f"Map state input must be an array but was: {type(items)}"
        raise FailureEventException(
            FailureEvent(
                env=env,
                error_name=error,
                event_type=HistoryEventType.EvaluationFailed,
                event_details=EventDetails(
                    evaluationFailedEventDetails=EvaluationFailedEventDetails(
                        error=error.error_name, cause=cause
                    )
                ),
            )
        )
    return items


class MapRun:
    """One Map Run: its children started at most `MaxConcurrency` at a time."""

    def __init__(self, state: Any, env: Environment, record: MapRunRecord, decl: MapDecl) -> None:
        self._state = state
        self._env = env
        self._record = record
        self._decl = decl
        self._program = state.iteration_component._get_iteration_program()
        self._children: list[Child] = []
        self._items = 0
        self._next = 0
        self._exceeded = False
        self._destination: tuple[str, str] | None = None  # the ResultWriter's bucket, folder
        self._lock = threading.Lock()

    def run(self, items: list[Any] | None) -> None:
        self._event(
            HistoryEventType.MapRunStarted,
            mapRunStartedEventDetails=MapRunStartedEventDetails(mapRunArn=self._record.map_run_arn),
        )
        try:
            # Evaluated while the parent runs: a stopped one still gets its results written.
            self._destination = self._result_destination()
            self._children = self._plan(self._read() if items is None else items)
            self._count_pending()
            self._run_children()
            if not self._env.is_running():
                self._write_quietly()
                self._end(MapRunStatus.ABORTED, HistoryEventType.MapRunAborted)
                raise _failure(self._env, "States.Runtime", "The Map Run was aborted")
            if self._exceeded:
                self._write_quietly()
                self._end(
                    MapRunStatus.FAILED,
                    HistoryEventType.MapRunFailed,
                    THRESHOLD_ERROR,
                    THRESHOLD_CAUSE,
                )
                raise _failure(self._env, THRESHOLD_ERROR, THRESHOLD_CAUSE)
            output = self._write()
        except Exception as exc:
            if self._record.status == MapRunStatus.RUNNING:
                failure = exc if isinstance(exc, FailureEventException) else None
                pair = failure.extract_error_cause_pair() if failure else None
                error, cause = pair or ("States.Runtime", str(exc))
                self._end(MapRunStatus.FAILED, HistoryEventType.MapRunFailed, error, cause)
            raise
        self._event(HistoryEventType.MapRunSucceeded)
        self._record.set_stop(status=MapRunStatus.SUCCEEDED)
        self._env.stack.append(output)

    # ------------------------------------------------------------------ items
    def _read(self) -> list[Any]:
        try:
            self._state.item_reader.eval(env=self._env)
        except FailureEventException:
            raise
        except Exception as exc:  # S3's answer (no such bucket or key, not JSON)
            raise _failure(self._env, "States.ItemReaderFailed", str(exc)) from exc
        return self._env.stack.pop()

    def _plan(self, items: list[Any]) -> list[Child]:
        selected = self._selected(items)
        self._items = len(selected)
        batcher = self._decl.batcher
        if batcher is None:
            return [Child(input=item, items=1) for item in selected]
        return [
            Child(input=batch, items=len(batch["Items"]))
            for batch in batcher.batches(selected, self._env)
        ]

    def _selected(self, items: list[Any]) -> list[Any]:
        """Each item through the ItemSelector (or the Parameters), as each child would get it."""
        selector = self._state.item_selector or self._state.parameters
        if selector is None:
            return items
        return [
            _evaluate(selector, self._env, MapData(Item=ItemData(Index=index, Value=item)))
            for index, item in enumerate(items)
        ]

    # ------------------------------------------------------------------ children
    def _run_children(self) -> None:
        limit = self._record.max_concurrency or LOCAL_CONCURRENCY
        workers = [
            threading.Thread(target=self._work, name=f"{self._state.name}-{n}", daemon=True)
            for n in range(min(limit, len(self._children)))
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _work(self) -> None:
        while child := self._take():
            self._run(child)
            with self._lock:
                self._count_end(child)
                self._exceeded = self._exceeded or self._over_threshold()

    def _take(self) -> Child | None:
        """The next child to start; none once the parent stops or the Map Run must fail."""
        with self._lock:
            if self._exceeded or not self._env.is_running() or self._next == len(self._children):
                return None
            child = self._children[self._next]
            self._next += 1
            child.status, child.start = "RUNNING", _now()
            self._count_start(child)
            return child

    def _run(self, child: Child) -> None:
        frame = self._env.open_inner_frame()  # stopping the parent stops this frame too
        try:
            frame.event_manager = EventManager()  # its own history, not the parent's
            context = frame.states.context_object.context_object_data
            child.arn = self._child_arn(child)
            context["Execution"] = ExecutionData(
                Id=child.arn,
                Input=copy.deepcopy(child.input),
                Name=child.name,
                RoleArn=context["Execution"]["RoleArn"],
                StartTime=child.start,
            )
            context["StateMachine"] = StateMachineData(
                Id=self._record.map_state_machine_arn,
                Name=self._record.map_state_machine_arn.split(":stateMachine:", 1)[1],
            )
            context.pop("Map", None)
            frame.states.reset(input_value=child.input)
            self._program.eval(frame)
            self._ended(child, frame)
        except Exception as exc:  # the interpreter's own failure: the child's, not the run's
            if not self._env.is_running():
                child.status = "ABORTED"  # stopped as it started
            else:
                child.status, child.error, child.cause = "FAILED", "States.Runtime", str(exc)
        finally:
            child.stop = _now()
            self._env.delete_frame(frame)

    def _child_arn(self, child: Child) -> str:
        # arn:...:stateMachine:<machine>/<label>  ->  arn:...:execution:<machine>/<label>:<name>
        kind = ":express:" if self._decl.execution_type == "EXPRESS" else ":execution:"
        arn = self._record.map_state_machine_arn.replace(":stateMachine:", kind) + f":{child.name}"
        return arn + f":{uuid.uuid4()}" if self._decl.execution_type == "EXPRESS" else arn

    @staticmethod
    def _ended(child: Child, frame: Environment) -> None:
        ended = frame.program_state()
        if isinstance(ended, ProgramEnded):
            child.status, child.output = "SUCCEEDED", frame.states.get_input()
        elif isinstance(ended, ProgramError):
            error = ended.error or {}
            child.status, child.error, child.cause = (
                "FAILED",
                error.get("error"),
                error.get("cause"),
            )
        elif isinstance(ended, ProgramStopped):
            child.status = "ABORTED"
        else:
            child.status = "TIMED_OUT"

    def _over_threshold(self) -> bool:
        failed = sum(child.items for child in self._children if child.status in _FAILURES)
        if not failed:
            return False
        limits = []
        if self._decl.declares_count:
            limits.append(failed > self._record.tolerated_failure_count)
        if self._decl.declares_percentage:
            percentage = self._record.tolerated_failure_percentage
            limits.append(failed * 100 > percentage * self._items)
        return any(limits) if limits else True

    # ------------------------------------------------------------------ counts (DescribeMapRun)
    def _count_pending(self) -> None:
        executions, items = self._record.execution_counter, self._record.item_counter
        executions.total.count(len(self._children))
        executions.pending.count(len(self._children))
        items.total.count(self._items)
        items.pending.count(self._items)

    def _count_start(self, child: Child) -> None:
        for counter, n in (
            (self._record.execution_counter, 1),
            (self._record.item_counter, child.items),
        ):
            counter.pending.offset(-n)
            counter.running.count(n)

    def _count_end(self, child: Child) -> None:
        name = {"SUCCEEDED": "succeeded", "FAILED": "failed", "ABORTED": "aborted"}.get(
            child.status, "timed_out"
        )
        for counter, n in (
            (self._record.execution_counter, 1),
            (self._record.item_counter, child.items),
        ):
            counter.running.offset(-n)
            getattr(counter, name).count(n)
            if child.status == "SUCCEEDED":
                counter.results_written.count(n)

    # ------------------------------------------------------------------ ends
    def _end(
        self,
        status: MapRunStatus,
        event: HistoryEventType,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        """Record the Map Run's end and add its event to the parent's history."""
        details = {}
        if event == HistoryEventType.MapRunFailed:
            failed = MapRunFailedEventDetails()
            if error:
                failed["error"] = error
            if cause:
                failed["cause"] = cause
            details["mapRunFailedEventDetails"] = failed
        self._record.set_stop(status=status)
        self._event(event, **details)

    def _event(self, event: HistoryEventType, **details: Any) -> None:
        self._env.event_manager.add_event(
            context=self._env.event_history_context,
            event_type=event,
            event_details=EventDetails(**details) if details else None,
        )

    def _write_quietly(self) -> None:
        """The results of a Map Run that fails or is aborted, when a ResultWriter asks for
        them: its failure (or abort) is what the history reports, not the writer's."""
        if self._state.result_writer:
            with contextlib.suppress(FailureEventException):
                self._write()

    def _write(self) -> Any:
        """The Map's output: the children's results, or where the ResultWriter put them."""
        if not self._state.result_writer:
            return [
                child.output
                if child.status == "SUCCEEDED"
                else child.result(self._record.map_state_machine_arn)
                for child in self._children
            ]
        try:
            return self._export()
        except FailureEventException:
            raise
        except Exception as exc:
            raise _failure(self._env, "States.ResultWriterFailed", str(exc)) from exc

    def _result_destination(self) -> tuple[str, str] | None:
        """The ResultWriter's bucket, and the folder of this Map Run's files."""
        writer = self._state.result_writer
        if writer is None:
            return None
        if writer.resource.resource_arn != "arn:aws:states:::s3:putObject":
            raise _failure(
                self._env,
                "States.ResultWriterFailed",
                f"a ResultWriter's Resource is s3:putObject, not {writer.resource.resource_arn}",
            )
        try:
            parameters = _evaluate(writer.parargs, self._env)
            bucket, prefix = parameters["Bucket"], parameters.get("Prefix", "")
        except FailureEventException:
            raise
        except Exception as exc:
            raise _failure(self._env, "States.ResultWriterFailed", repr(exc)) from exc
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return bucket, f"{prefix}{self._record.map_run_arn.rsplit(':', 1)[1]}/"

    def _export(self) -> dict[str, Any]:
        bucket, folder = self._destination
        s3 = boto_client.boto_client_for(
            region=self._env.aws_execution_details.region, service="s3"
        )
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for status, group in _by_file(self._children):
            body = json.dumps(
                [child.result(self._record.map_state_machine_arn) for child in group]
            ).encode()
            key = f"{folder}{status}_0.json"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
        manifest = {
            "DestinationBucket": bucket,
            "MapRunArn": self._record.map_run_arn,
            "ResultFiles": files,
        }
        s3.put_object(
            Bucket=bucket, Key=f"{folder}manifest.json", Body=json.dumps(manifest).encode()
        )
        return {
            "MapRunArn": self._record.map_run_arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": f"{folder}manifest.json"},
        }


def _by_file(children: list[Child]) -> Iterator[tuple[str, list[Child]]]:
    """Children grouped by the result file that lists them: failed, timed out and aborted
    ones in FAILED, those never started in PENDING."""
    groups: dict[str, list[Child]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for child in children:
        file = child.status if child.status in ("SUCCEEDED", "PENDING") else "FAILED"
        groups[file].append(child)
    yield from ((status, group) for status, group in groups.items() if group)


def _failure(env: Environment, error: str, cause: str) -> FailureEventException:
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=StatesErrorName.from_name(error),
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(
                executionFailedEventDetails=ExecutionFailedEventDetails(error=error, cause=cause)
            ),
        )
    )
