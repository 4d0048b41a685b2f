from cli.main import main
from emulator.local import LOCAL_JWT_SECRET
from notify.domain.tokens import verify_token


def test_the_token_command_mints_a_jwt_the_authorizer_accepts(local, capsys):
    # --stack reads <stack>-jwt-secret with the default AWS configuration (here, the emulator).
    assert main(["--stack", "messaging", "token", "user123", "user@example.com", "cust456"]) == 0

    caller = verify_token(capsys.readouterr().out.strip(), LOCAL_JWT_SECRET)
    assert caller.sub == "user123"
    assert caller.email == "user@example.com"
    assert caller.customer_id == "cust456"


def test_the_token_command_names_a_missing_stack_in_one_line(local, capsys):
    assert main(["token", "user123", "--stack", "nope"]) == 1

    error = capsys.readouterr().err
    assert error.startswith("messaging: ")
    assert "nope-jwt-secret" in error
    assert error.count("\n") == 1
