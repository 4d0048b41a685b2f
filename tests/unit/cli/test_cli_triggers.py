"""`messaging triggers put|get|list|delete` against a tenants table in moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from cli.target import Context, Target
from notify.domain.triggers import Trigger
from notify.integration.tenant_store import TenantStore

TABLE = "cli-trigger-tenants"
KEY_ID = "defaultkey1"
DEFINITION_FILE = (
    Path(__file__).resolve().parents[3] / "events" / "trigger-registration-invitation.json"
)
DEFINITION = json.loads(DEFINITION_FILE.read_text())


@pytest.fixture
def tenants(mocked_aws, table_from_template, monkeypatch) -> Iterator[Any]:
    table = table_from_template("TenantsTable", TABLE)
    target = Target("messaging", mocked_aws, {"TenantsTableName": TABLE, "ApiKeyId": KEY_ID})
    monkeypatch.setattr(Context, "target", lambda self: target)
    yield table
    table.delete()


def stored(mocked_aws: Any, owner: str, name: str) -> dict[str, Any] | None:
    return TenantStore(mocked_aws.client("dynamodb"), TABLE, 0).trigger(owner, name)


def test_put_stores_the_trigger_for_the_stacks_own_key_where_the_function_reads_it(
    tenants, mocked_aws, capsys
):
    status = main(["triggers", "put", "registration-invitation", "--file", str(DEFINITION_FILE)])

    assert status == 0
    assert capsys.readouterr().out == (
        f"stored trigger registration-invitation for key:{KEY_ID}: WHATSAPP to parent_tel "
        "(template registration-invitation); EMAIL to parent_email "
        "(template registration-invitation, if present)\n"
    )
    assert stored(mocked_aws, f"key:{KEY_ID}", "registration-invitation") == DEFINITION


def test_get_prints_the_definition_and_list_shows_every_keys_triggers(tenants, capsys):
    main(["triggers", "put", "registration-invitation", "--file", str(DEFINITION_FILE)])
    main(["triggers", "put", "welcome", "--tenant", "key:other", "--file", str(DEFINITION_FILE)])
    capsys.readouterr()

    assert main(["triggers", "get", "registration-invitation"]) == 0
    assert json.loads(capsys.readouterr().out) == DEFINITION
    assert main(["triggers", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TENANT", "NAME", "SENDS"]
    assert [line.split()[:2] for line in lines[1:]] == [
        [f"key:{KEY_ID}", "registration-invitation"],
        ["key:other", "welcome"],
    ]
    assert main(["triggers", "list", "--tenant", "key:other", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["Tenant"], listed["Name"]) == ("key:other", "welcome")


def test_delete_removes_only_that_keys_trigger(tenants, mocked_aws, capsys):
    main(["triggers", "put", "t1", "--file", str(DEFINITION_FILE)])
    main(["triggers", "put", "t1", "--tenant", "key:other", "--file", str(DEFINITION_FILE)])

    assert main(["triggers", "delete", "t1"]) == 0

    assert stored(mocked_aws, f"key:{KEY_ID}", "t1") is None
    assert stored(mocked_aws, "key:other", "t1") == DEFINITION
    assert main(["triggers", "delete", "t1"]) == 1
    assert capsys.readouterr().err == f"messaging: key:{KEY_ID} has no trigger t1\n"


@pytest.mark.parametrize(
    ("argv", "definition", "error"),
    [
        pytest.param(
            ["put", "t"],
            {"Recipients": []},
            "messaging: trigger t: Recipients must name at least one {ChannelType, AddressField}",
            id="no-recipient",
        ),
        pytest.param(
            ["put", "a b"],
            DEFINITION,
            "messaging: trigger a b: a trigger name is 1-64 characters of A-Z a-z 0-9 . _ -, "
            "not 'a b'",
            id="bad-name",
        ),
        pytest.param(
            ["put", "t", "--tenant", "acme"],
            DEFINITION,
            "messaging: a tenant is customer:<customer_id>, user:<sub> or key:<api key id>, "
            "not 'acme'",
            id="bad-tenant",
        ),
        pytest.param(
            ["get", "missing"],
            None,
            f"messaging: key:{KEY_ID} has no trigger missing",
            id="get-missing",
        ),
    ],
)
def test_a_bad_definition_name_or_tenant_is_one_line_and_stores_nothing(
    tenants, tmp_path, capsys, argv, definition, error
):
    path = tmp_path / "trigger.json"
    path.write_text(json.dumps(definition))
    extra = ["--file", str(path)] if argv[0] == "put" else []

    assert main(["triggers", *argv, *extra]) == 1

    assert capsys.readouterr().err == error + "\n"
    assert tenants.scan()["Items"] == []


def test_the_seeded_definition_is_what_put_stores():
    assert Trigger.from_definition("registration-invitation", DEFINITION).definition() == DEFINITION
