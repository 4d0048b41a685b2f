"""Write statemachine/job.asl.json: job.parent.json with the delivery steps as its Map's child.

A job's batch of rows runs the very steps a queued batch does (Plan, Deliver, Record, the
retry of the exhausted), so the Distributed Map's ItemProcessor is delivery.asl.json's
States, not a copy kept by hand. `make asl` runs this; a unit test fails when the written
file is not what this makes. Both files hold `${Name}` substitutions, some unquoted
numbers: they are read as text, each unquoted one held in a string meanwhile.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNQUOTED = re.compile(r"(?<=: )\$\{(\w+)\}")
HELD = re.compile(r'"@@(\w+)@@"')


def _read(path: Path) -> dict:
    return json.loads(UNQUOTED.sub(r'"@@\1@@"', path.read_text()))


def _write(document: dict) -> str:
    return HELD.sub(r"${\1}", json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


def job_definition() -> str:
    parent, delivery = _read(HERE / "job.parent.json"), _read(HERE / "delivery.asl.json")
    processor = parent["States"]["SendRows"]["ItemProcessor"]
    processor["StartAt"] = delivery["StartAt"]
    processor["States"] = delivery["States"]
    return _write(parent)


if __name__ == "__main__":
    target = HERE / "job.asl.json"
    target.write_text(job_definition())
    sys.stdout.write(f"wrote {target.relative_to(HERE.parent)}\n")
