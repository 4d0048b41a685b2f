from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from notify.domain.tokens import (
    ISSUER,
    Caller,
    InvalidToken,
    allow_policy,
    bearer_token,
    mint_token,
    verify_token,
)

# At least 32 bytes, so PyJWT does not warn about a short HMAC key.
SECRET = "unit-test-secret-that-is-at-least-32-bytes"
OTHER_SECRET = "another-secret-that-is-also-32-bytes-long"
NOW = 1_700_000_000
HS256 = {"alg": "HS256", "typ": "JWT"}
DROP = object()  # marks a claim to leave out
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/POST/"
STAGE_WILDCARD = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"


def claims(**overrides: Any) -> dict[str, Any]:
    base = {"iss": ISSUER, "sub": "user-1", "iat": NOW, "exp": NOW + 3600}
    merged = {**base, **overrides}
    return {name: value for name, value in merged.items() if value is not DROP}


def signed(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: dict[str, Any]) -> str:
    return b64url(json.dumps(obj).encode())


def unsigned_token() -> str:
    """`alg: none` with an empty signature, built by hand as an attacker would."""
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims())}."


def rs256_token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(), key, algorithm="RS256")


def hmac_signed(header: dict[str, Any], body: str) -> str:
    """A token signed with our secret by hand, whatever its header or body say."""
    signing_input = f"{segment(header)}.{body}"
    mac = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def raw_claims(extra: str) -> str:
    """Validly signed claims with a JSON fragment json.dumps would never write (NaN, Infinity)."""
    body = f'{{"iss":"{ISSUER}","sub":"user-1","iat":{NOW},"exp":{NOW + 3600},{extra}}}'
    return hmac_signed(HS256, b64url(body.encode()))


def rs256_header_hmac_signed() -> str:
    """Header says RS256 but the signature is HMAC with our secret: the classic confusion."""
    return hmac_signed({"alg": "RS256", "typ": "JWT"}, segment(claims()))


@pytest.mark.parametrize(
    ("sub", "email", "customer_id", "owner"),
    [
        pytest.param("user-1", None, None, "user:user-1", id="sub only: owner is the user"),
        pytest.param("user-1", "a@example.com", None, "user:user-1", id="with email"),
        pytest.param("user-1", None, "cust-9", "customer:cust-9", id="with customer"),
        pytest.param("user-1", "a@example.com", "cust-9", "customer:cust-9", id="all claims"),
        pytest.param("cust-9", None, None, "user:cust-9", id="a sub is never a customer"),
        pytest.param("bob@example.com", None, None, "user:bob@example.com", id="email as sub"),
    ],
)
def test_a_valid_token_names_its_caller(sub, email, customer_id, owner):
    token = mint_token(SECRET, sub, email, customer_id, now=NOW)

    caller = verify_token(token, SECRET, now=NOW)

    assert caller == Caller(sub=sub, email=email, customer_id=customer_id)
    assert caller.owner == owner


def test_a_freshly_minted_token_passes_against_the_real_clock():
    assert verify_token(mint_token(SECRET, "user-1"), SECRET).sub == "user-1"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        pytest.param(signed(claims(exp=NOW - 3600)), "expired", id="expired"),
        pytest.param(signed(claims(nbf=NOW + 3600)), "not yet valid", id="nbf in the future"),
        pytest.param(signed(claims(iat=NOW + 3600)), "issued in the future", id="iat in future"),
        pytest.param(signed(claims(iss="someone-else")), "wrong issuer", id="wrong iss"),
        pytest.param(signed(claims(iss=DROP)), "missing claim", id="missing iss"),
        pytest.param(signed(claims(exp=DROP)), "missing claim", id="missing exp"),
        pytest.param(signed(claims(iat=DROP)), "missing claim", id="missing iat"),
        pytest.param(signed(claims(), OTHER_SECRET), "bad signature", id="wrong secret"),
        pytest.param(unsigned_token(), "algorithm not allowed", id="alg none"),
        pytest.param(rs256_token(), "algorithm not allowed", id="RS256 signed with an RSA key"),
        pytest.param(rs256_header_hmac_signed(), "algorithm not allowed", id="RS256 header HMAC"),
        pytest.param(signed(claims(sub=DROP)), "missing claim", id="missing sub"),
        pytest.param(signed(claims(sub="")), "invalid sub", id="empty sub"),
        pytest.param(signed(claims(sub="   ")), "invalid sub", id="blank sub"),
        pytest.param(signed(claims(sub=42)), "invalid sub", id="sub not a string"),
        pytest.param(signed(claims(exp="soon")), "exp is not a timestamp", id="exp not a number"),
        pytest.param(raw_claims('"exp":Infinity'), "exp is not a timestamp", id="exp Infinity"),
        pytest.param(raw_claims('"exp":NaN'), "exp is not a timestamp", id="exp NaN"),
        pytest.param(raw_claims('"iat":-1e999'), "iat is not a timestamp", id="iat -Infinity"),
        pytest.param(signed(claims(customer_id=7)), "customer_id is not a string", id="bad cust"),
        pytest.param(signed(claims(aud="elsewhere")), "unexpected audience", id="has an aud"),
        pytest.param("garbage", "malformed", id="garbage"),
        pytest.param(signed(claims()).rsplit(".", 1)[0], "malformed", id="two segments"),
        pytest.param("!!!.@@@.###", "malformed", id="non-base64"),
        pytest.param(hmac_signed(HS256, b64url(b"not json")), "malformed", id="signed non-JSON"),
        pytest.param(hmac_signed(HS256, b64url(b"[1, 2]")), "malformed", id="signed JSON array"),
    ],
)
def test_an_invalid_token_is_refused_with_its_reason(token, reason):
    with pytest.raises(InvalidToken) as refused:
        verify_token(token, SECRET, now=NOW)

    assert refused.value.reason == reason


def test_the_hand_signer_makes_valid_tokens_so_only_the_forged_header_is_refused():
    # Control for "RS256 header HMAC": the same signing with an HS256 header passes.
    assert verify_token(hmac_signed(HS256, segment(claims())), SECRET, now=NOW).sub == "user-1"


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": NOW - 10}, id="expired 10 s ago"),
        pytest.param({"iat": NOW + 10}, id="issued 10 s ahead"),
        pytest.param({"nbf": NOW + 10}, id="valid from 10 s ahead"),
    ],
)
def test_clock_skew_within_the_leeway_is_tolerated(overrides):
    assert verify_token(signed(claims(**overrides)), SECRET, now=NOW).sub == "user-1"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param({"exp": NOW - 60}, "expired", id="expired 60 s ago"),
        pytest.param({"iat": NOW + 60}, "issued in the future", id="issued 60 s ahead"),
        pytest.param({"nbf": NOW + 60}, "not yet valid", id="valid from 60 s ahead"),
    ],
)
def test_clock_skew_beyond_the_leeway_is_refused(overrides, reason):
    with pytest.raises(InvalidToken, match=reason):
        verify_token(signed(claims(**overrides)), SECRET, now=NOW)


def test_an_empty_secret_is_a_configuration_error_not_a_bad_token():
    with pytest.raises(ValueError, match="empty"):
        verify_token(signed(claims()), "", now=NOW)


def test_a_minted_token_carries_exactly_the_claims_given():
    token = mint_token(SECRET, "user-1", customer_id="cust-9", ttl_seconds=60, now=NOW)

    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})

    assert header["alg"] == "HS256"
    assert payload == {
        "iss": ISSUER,
        "sub": "user-1",
        "iat": NOW,
        "exp": NOW + 60,
        "customer_id": "cust-9",
    }


@pytest.mark.parametrize(
    ("caller", "context"),
    [
        pytest.param(
            Caller("user-1", "a@example.com", "cust-9"),
            {
                "sub": "user-1",
                "email": "a@example.com",
                "customer_id": "cust-9",
                "caller": '{"sub":"user-1","customer_id":"cust-9","email":"a@example.com"}',
            },
            id="all fields",
        ),
        pytest.param(
            Caller("user-1"),
            {"sub": "user-1", "email": "", "customer_id": "", "caller": '{"sub":"user-1"}'},
            id="absent fields are empty strings and left out of caller",
        ),
    ],
)
def test_the_authorizer_context_has_string_values_and_a_compact_caller(caller, context):
    assert caller.to_context() == context


@pytest.mark.parametrize(
    "email",
    [
        pytest.param('say "hi"', id="quotes"),
        pytest.param("back\\slash\\", id="backslashes"),
        pytest.param('"},"injected":{"x":"', id="json injection attempt"),
        pytest.param("line\nbreak, tab\t, é, </script>", id="control and non-ascii"),
    ],
)
def test_the_caller_json_round_trips_whatever_the_email_holds(email):
    # The email claim is free text (the ids are not: see the tenant charset below).
    caller = verify_token(mint_token(SECRET, "user-1", email, now=NOW), SECRET, now=NOW)

    assert json.loads(caller.to_context()["caller"]) == {"sub": "user-1", "email": email}


@pytest.mark.parametrize(
    ("sub", "customer_id", "reason"),
    [
        pytest.param("user-1", "acme#eu", "customer_id must be", id="hash in customer_id"),
        pytest.param("user-1", "customer:acme", "customer_id must be", id="colon in customer_id"),
        pytest.param("acme#eu", None, "sub must be", id="hash in sub"),
        pytest.param("user:1", "acme", "sub must be", id="colon in sub beside a customer"),
        pytest.param('"},"injected":{"x":"', None, "sub must be", id="json injection in sub"),
        pytest.param("line\nbreak", None, "sub must be", id="control character"),
        pytest.param("é", None, "sub must be", id="non-ascii"),
        pytest.param("x" * 129, None, "sub must be", id="longer than 128"),
        pytest.param("user-1", "c" * 129, "customer_id must be", id="customer longer than 128"),
    ],
)
def test_a_token_whose_tenant_ids_leave_the_safe_charset_is_refused(sub, customer_id, reason):
    token = mint_token(SECRET, sub, customer_id=customer_id, now=NOW)

    with pytest.raises(InvalidToken) as raised:
        verify_token(token, SECRET, now=NOW)

    assert raised.value.reason == f"{reason} 1-128 characters of A-Z a-z 0-9 . _ @ + -"


def test_the_longest_and_every_allowed_character_pass():
    sub = "Az09._@+-" + "x" * 119

    assert verify_token(mint_token(SECRET, sub, now=NOW), SECRET, now=NOW).owner == f"user:{sub}"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer abc.def.ghi", id="canonical"),
        pytest.param("bearer abc.def.ghi", id="lower-case scheme"),
        pytest.param("BEARER abc.def.ghi", id="upper-case scheme"),
        pytest.param("  Bearer   abc.def.ghi  ", id="extra whitespace"),
    ],
)
def test_the_bearer_token_is_taken_from_the_header(header):
    assert bearer_token(header) == "abc.def.ghi"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("", id="empty"),
        pytest.param("abc.def.ghi", id="no scheme"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic scheme"),
        pytest.param("Bearer", id="scheme only"),
        pytest.param("Bearer abc def", id="two tokens"),
        pytest.param("Bearerabc.def.ghi", id="no space"),
    ],
)
def test_a_malformed_authorization_header_is_refused(header):
    with pytest.raises(InvalidToken, match="malformed authorization header"):
        bearer_token(header)


def test_the_allow_policy_lets_the_caller_invoke_the_whole_stage():
    caller = Caller("user-1", customer_id="cust-9")

    assert allow_policy(METHOD_ARN, caller) == {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE_WILDCARD}
            ],
        },
        "context": caller.to_context(),
    }


@pytest.mark.parametrize(
    ("method_arn", "resource"),
    [
        pytest.param(METHOD_ARN, STAGE_WILDCARD, id="root path"),
        pytest.param(
            "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/messages/t-1",
            STAGE_WILDCARD,
            id="nested path",
        ),
        pytest.param(
            "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/a:b",
            STAGE_WILDCARD,
            id="colon in the path",
        ),
        pytest.param(
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/dev/POST/",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/dev/*/*",
            id="other partition and stage",
        ),
    ],
)
def test_the_policy_resource_is_widened_to_every_method_and_path(method_arn, resource):
    statement = allow_policy(method_arn, Caller("user-1"))["policyDocument"]["Statement"][0]

    assert statement["Resource"] == resource


@pytest.mark.parametrize(
    "method_arn",
    [
        pytest.param("", id="empty"),
        pytest.param("arn:aws:lambda:us-east-1:123456789012:function:f", id="not execute-api"),
        pytest.param("arn:aws:execute-api:us-east-1:123456789012:abcdef1234", id="no stage"),
        pytest.param("arn:aws:execute-api:us-east-1:123456789012:/prod/POST/", id="no api id"),
    ],
)
def test_an_arn_that_is_not_an_api_method_is_rejected(method_arn):
    with pytest.raises(ValueError, match="not an execute-api method ARN"):
        allow_policy(method_arn, Caller("user-1"))


def test_a_test_key_token_carries_key_type_test_into_the_queued_caller():
    token = mint_token(SECRET, "user-1", customer_id="cust-9", now=NOW, test=True)

    caller = verify_token(token, SECRET, now=NOW)

    assert caller.key_type == "test"
    assert json.loads(caller.to_context()["caller"]) == {
        "sub": "user-1",
        "customer_id": "cust-9",
        "key_type": "test",
    }


@pytest.mark.parametrize(
    ("key_type", "expected"),
    [
        pytest.param("live", None, id="live is a live key"),
        pytest.param("", None, id="empty is a live key"),
    ],
)
def test_a_live_key_type_leaves_the_caller_live(key_type, expected):
    caller = verify_token(signed(claims(key_type=key_type)), SECRET, now=NOW)

    assert caller.key_type is expected
    assert "key_type" not in json.loads(caller.to_context()["caller"])


@pytest.mark.parametrize("key_type", ["TEST", "sandbox", 1, True])
def test_a_token_with_an_unknown_key_type_is_refused_rather_than_sent_live(key_type):
    with pytest.raises(InvalidToken):
        verify_token(signed(claims(key_type=key_type)), SECRET, now=NOW)
