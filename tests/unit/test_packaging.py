"""What `sam build` ships each function (functions/Makefile from functions/requirements/), kept
in step with what its handler imports: every package it loads, twilio and the X-Ray SDK only
where they are used, boto3 and botocore never (the runtime's own are used)."""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from emulator.stack import TEMPLATE

FUNCTIONS_DIR = TEMPLATE.parent / "functions"
RESOURCES: dict[str, Any] = cfn_yaml.load(str(TEMPLATE))["Resources"]
FUNCTIONS = sorted(
    name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Serverless::Function"
)
RULE = re.compile(r"^(build-\w+(?: build-\w+)*):\n\t\$\(call ship,([\w ]+)\)$", re.MULTILINE)
SETS = {
    target.removeprefix("build-"): sets.split()
    for targets, sets in RULE.findall((FUNCTIONS_DIR / "Makefile").read_text())
    for target in targets.split()
}
RUNTIME = {"boto3", "botocore"}
STANDARD = sys.stdlib_module_names | {"__future__"}


def canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


@cache
def pins(requirement_set: str) -> dict[str, str]:
    """Distribution -> pinned version of one requirements/<set>.txt, its `-r` files included."""
    found: dict[str, str] = {}
    for raw in (FUNCTIONS_DIR / "requirements" / requirement_set).read_text().splitlines():
        line = raw.split("#")[0].strip()
        if line.startswith("-r "):
            found |= pins(line.removeprefix("-r ").strip())
        elif line:
            distribution, version = line.split("==")
            found[canonical(distribution)] = version
    return found


def shipped(function: str) -> set[str]:
    return {name for requirement_set in SETS[function] for name in pins(f"{requirement_set}.txt")}


def loaded_at_import(function: str) -> tuple[set[str], bool]:
    """Top-level modules outside notify and the standard library that the handler's import
    loads (module-level imports, followed through notify), and whether it makes a Tracer."""
    handler = RESOURCES[function]["Properties"]["Handler"].rpartition(".")[0]
    seen: set[str] = set()
    todo, third_party, tracer = [handler], set(), False
    while todo:
        module = todo.pop()
        source = _source(module)
        if module in seen or source is None:
            continue
        seen.add(module)
        tracer = tracer or "Tracer(" in source.read_text()
        for name in _module_level_imports(source):
            top = name.split(".")[0]
            if top == "notify":
                todo.append(name)
            elif top not in STANDARD:
                third_party.add(top)
    return third_party, tracer


def _source(module: str) -> Path | None:
    path = FUNCTIONS_DIR / module.replace(".", "/")
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def _module_level_imports(source: Path) -> list[str]:
    names: list[str] = []  # notify's imports are absolute

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
                names.extend(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.ClassDef | ast.If | ast.Try | ast.With):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(ast.parse(source.read_text()).body)
    return names


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_function_is_built_from_its_own_requirement_sets(function):
    assert RESOURCES[function].get("Metadata", {}).get("BuildMethod") == "makefile"
    assert function in SETS, f"functions/Makefile has no build-{function} target"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_function_ships_every_package_its_handler_loads(function):
    modules, tracer = loaded_at_import(function)
    distributions = packages_distributions()
    missing = {
        module
        for module in modules - RUNTIME
        if not {canonical(name) for name in distributions.get(module, [module])} & shipped(function)
    }
    assert not missing, f"{function} imports {sorted(missing)}; add their set in functions/Makefile"
    assert not tracer or "aws-xray-sdk" in shipped(function)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_function_ships_no_boto3_and_twilio_or_the_xray_sdk_only_where_used(function):
    modules, tracer = loaded_at_import(function)
    assert not RUNTIME & shipped(function)
    assert ("twilio" in shipped(function)) == ("twilio" in modules)
    assert ("aws-xray-sdk" in shipped(function)) == tracer


def test_a_package_pinned_in_two_sets_has_one_version():
    versions: dict[str, set[str]] = {}
    for path in (FUNCTIONS_DIR / "requirements").glob("*.txt"):
        for distribution, version in pins(path.name).items():
            versions.setdefault(distribution, set()).add(version)
    assert {name: found for name, found in versions.items() if len(found) > 1} == {}
