"""statemachine/job.asl.json is what `make asl` writes: the delivery steps, unedited, as
its Distributed Map's child."""

import importlib.util
import json
import re
from pathlib import Path

from notify.domain.jobs import ROWS_PER_BATCH

STATEMACHINE = Path(__file__).resolve().parents[2] / "statemachine"


def _compose():
    spec = importlib.util.spec_from_file_location("compose", STATEMACHINE / "compose.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parsed(text: str) -> dict:
    return json.loads(re.sub(r"(?<=: )\$\{(\w+)\}", "0", text))


def test_the_written_job_definition_is_what_make_asl_writes():
    written = (STATEMACHINE / "job.asl.json").read_text()

    assert written == _compose().job_definition(), "statemachine/job.asl.json is stale: make asl"


def test_each_batch_of_a_job_runs_the_delivery_steps_in_an_express_child():
    job = _parsed((STATEMACHINE / "job.asl.json").read_text())
    delivery = _parsed((STATEMACHINE / "delivery.asl.json").read_text())

    rows = job["States"]["SendRows"]
    assert rows["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "EXPRESS",
    }
    assert rows["ItemProcessor"]["States"] == delivery["States"]
    assert rows["ItemProcessor"]["StartAt"] == delivery["StartAt"]
    assert rows["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    assert rows["ItemBatcher"]["MaxItemsPerBatch"] == ROWS_PER_BATCH
