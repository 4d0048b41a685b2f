"""The code's layers: handlers wire domain to integration; domain imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

NOTIFY = Path(__file__).resolve().parents[2] / "functions" / "notify"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("domain", ("notify.handlers", "notify.integration", "boto3", "botocore")),
        ("integration", ("notify.handlers",)),
    ],
)
def test_a_layer_imports_only_the_layers_below_it(layer, forbidden):
    wrong = {
        f"{path.relative_to(NOTIFY)}: {module}"
        for path in (NOTIFY / layer).rglob("*.py")
        for module in imports(path)
        if module.startswith(forbidden)
    }
    assert wrong == set()
