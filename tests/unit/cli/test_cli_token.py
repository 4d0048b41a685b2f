"""`messaging token`: the secret of the chosen stack, and its older form."""

from __future__ import annotations

import pytest

from cli.main import main
from notify.domain.tokens import verify_token

SECRET = "a-deployed-secret-that-is-long-enough"


@pytest.fixture(scope="module")
def deployed_secret(mocked_aws) -> str:
    mocked_aws.client("secretsmanager").create_secret(Name="prod-jwt-secret", SecretString=SECRET)
    return SECRET


@pytest.mark.parametrize(
    "argv",
    [
        ["--stack", "prod", "token", "u1", "u1@example.com", "c-1"],
        ["token", "u1", "u1@example.com", "c-1", "--stack", "prod"],
    ],
)
def test_a_token_is_signed_with_the_stacks_secret(deployed_secret, argv, capsys):
    assert main(argv) == 0

    caller = verify_token(capsys.readouterr().out.strip(), deployed_secret)
    assert (caller.sub, caller.email, caller.customer_id) == ("u1", "u1@example.com", "c-1")


def test_an_unknown_stack_names_the_missing_secret_in_one_line(deployed_secret, capsys):
    assert main(["--stack", "nope", "token", "u1"]) == 1

    error = capsys.readouterr().err
    assert error.startswith("messaging: cannot read the JWT secret nope-jwt-secret: ")
    assert error.count("\n") == 1


def test_token_test_mints_a_test_key(deployed_secret, capsys):
    assert main(["--stack", "prod", "token", "u1", "--test"]) == 0

    assert verify_token(capsys.readouterr().out.strip(), deployed_secret).key_type == "test"
