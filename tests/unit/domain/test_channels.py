"""The channel registry: one entry per channel, and everything that must agree with it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from emulator.request_schema import load_components
from notify.domain.channels import CHANNELS, channel
from notify.domain.channels.voice import VoiceCall
from notify.domain.compose import Delivery
from notify.domain.errors import INVALID_ADDRESS, INVALID_MESSAGE, MISSING_MESSAGE, PermanentError
from notify.domain.inbound import opted_out_together
from notify.domain.senders import SENDER_LISTS
from notify.domain.templates import Template

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
SCHEMAS = load_components()


class Templates:
    def get(self, name: str, owner: str | None = None, version: int | None = None) -> Template:
        return Template(name, message_body="Your code is {code}")


def voice(block: dict, **recipient) -> Delivery:
    return Delivery(
        "t-1",
        "customer:acme",
        {"Address": "+1 604 555 0100", "ChannelType": "VOICE", **recipient},
        {"VoiceMessage": block},
    )


# ---------------------------------------------------------------- the API's model
@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_the_api_model_knows_every_channel(name):
    entry = CHANNELS[name]
    request = SCHEMAS["SendRequest"]

    assert request["properties"][entry.block] == {"$ref": f"#/components/schemas/{entry.block}"}
    assert {"required": [entry.block]} in request["anyOf"]
    assert name in SCHEMAS["Recipient"]["properties"]["ChannelType"]["enum"]
    fallback = SCHEMAS["Recipient"]["properties"]["Fallback"]["items"]["properties"]
    assert name in fallback["ChannelType"]["enum"]
    # A fallback to this channel needs its block: one allOf branch says so.
    assert any({"required": [entry.block]} in branch["anyOf"] for branch in request["allOf"])
    # The block names its sender in the field the registry reads.
    assert entry.sender_field in SCHEMAS[entry.block]["properties"]


def test_the_api_model_has_no_channel_the_registry_lacks():
    assert set(SCHEMAS["Recipient"]["properties"]["ChannelType"]["enum"]) == set(CHANNELS)


# ---------------------------------------------------------------- the template
def test_every_channel_has_a_send_function_plan_knows():
    resources = cfn_yaml.load(str(TEMPLATE))["Resources"]
    plan_env = resources["PlanFunction"]["Properties"]["Environment"]["Variables"]
    handlers = {
        r["Properties"].get("Handler")
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    for name in CHANNELS:
        assert f"SEND_{name}_FUNCTION_ARN" in plan_env
        module = f"notify.handlers.send_{name.lower()}"
        assert f"{module}.handler" in handlers
        importlib.util.find_spec(module)


# ---------------------------------------------------------------- entries
def test_lookup_names_the_known_channels():
    assert channel("VOICE").block == "VoiceMessage"
    with pytest.raises(KeyError, match="one of EMAIL, SMS, VOICE, WHATSAPP"):
        channel("FAX")


def test_sender_list_names_and_options_are_unique():
    lists = [s for c in CHANNELS.values() for s in c.sender_lists]
    assert len({s.name for s in lists}) == len({s.option for s in lists}) == len(lists)
    assert set(SENDER_LISTS) == {s.name for s in lists}


def test_a_stop_texted_to_a_number_also_stops_its_calls():
    assert opted_out_together("SMS") == ["SMS", "VOICE"]
    assert opted_out_together("WHATSAPP") == ["WHATSAPP"]


# ---------------------------------------------------------------- VOICE
def test_a_voice_call_reads_the_rendered_body():
    call = CHANNELS["VOICE"].compose(
        voice(
            {"OriginationNumber": "+16045550199", "VoiceId": "JOANNA"},
            Substitutions={"code": "123 456"},
        ),
        Templates(),
        "default",
    )

    assert call == VoiceCall(
        "+16045550100", "+16045550199", "Your code is 123 456", "TEXT", "JOANNA"
    )
    assert (call.sender, call.details()) == ("+16045550199", {})


def test_a_language_code_makes_the_body_ssml_with_its_text_escaped():
    block = {
        "OriginationNumber": "+16045550199",
        "MessageBody": "Code <{code}> & bye",
        "LanguageCode": "fr-FR",
    }
    call = CHANNELS["VOICE"].compose(voice(block, Substitutions={"code": "42"}), Templates(), "x")

    assert call.text_type == "SSML"
    assert call.body == '<speak><lang xml:lang="fr-FR">Code &lt;42&gt; &amp; bye</lang></speak>'


@pytest.mark.parametrize(
    ("delivery", "reason", "detail"),
    [
        pytest.param(
            voice({"MessageBody": "Hi"}),
            INVALID_MESSAGE,
            "needs an OriginationNumber",
            id="no-sender",
        ),
        pytest.param(
            voice({"OriginationNumber": "+16045550199", "MessageBody": "x" * 3001}),
            INVALID_MESSAGE,
            "the limit is 3000",
            id="too-long",
        ),
        pytest.param(
            Delivery("t", "o", {"Address": "+16045550100", "ChannelType": "VOICE"}, {}),
            MISSING_MESSAGE,
            "needs an VoiceMessage",
            id="no-block",
        ),
        pytest.param(
            voice({"OriginationNumber": "+1", "MessageBody": "Hi"}, Address="alice@example.com"),
            INVALID_ADDRESS,
            "alice@example.com",
            id="not-a-phone",
        ),
    ],
)
def test_a_voice_call_that_cannot_be_placed_is_rejected_saying_why(delivery, reason, detail):
    with pytest.raises(PermanentError) as caught:
        CHANNELS["VOICE"].compose(delivery, Templates(), "default")

    assert caught.value.reason == reason
    assert detail in caught.value.detail


def test_every_channel_is_tried_for_default_senders_with_sms_last():
    from notify.domain.channels import DEFAULT_SENDER_ORDER

    assert {c.name for c in DEFAULT_SENDER_ORDER} == set(CHANNELS)
    assert DEFAULT_SENDER_ORDER[-1].name == "SMS"


# ---------------------------------------------------------------- send budgets
@pytest.mark.parametrize(
    ("name", "block", "budget"),
    [
        ("EMAIL", {"FromAddress": "alerts@example.com"}, "EMAIL"),
        ("SMS", {"OriginationNumber": "pool-1"}, "SMS#pool-1"),
        ("SMS", {}, "SMS#-"),
        ("WHATSAPP", {"FromNumber": "+14155238886"}, "WHATSAPP#whatsapp:+14155238886"),
        ("WHATSAPP", {"FromNumber": "whatsapp:+14155238886"}, "WHATSAPP#whatsapp:+14155238886"),
        ("VOICE", {"OriginationNumber": "+16045550100"}, "VOICE#+16045550100"),
        ("SMS", {"OriginationNumber": "two words"}, "SMS#two words"),
    ],
    ids=[
        "email-the-whole-account",
        "sms-per-origination-identity",
        "sms-the-accounts-own-identity",
        "whatsapp-per-sender",
        "whatsapp-one-sender-however-written",
        "voice-per-origination-identity",
        "an-invalid-sender-its-own-until-refused",
    ],
)
def test_a_message_spends_its_senders_send_budget_or_its_accounts(name, block, budget):
    assert CHANNELS[name].budget_key(block) == budget


def test_every_channel_has_a_send_rate_parameter_defaulting_to_its_rate_for_plan_and_its_function():
    document = cfn_yaml.load(str(TEMPLATE))
    resources, parameters = document["Resources"], document["Parameters"]
    functions = {
        r["Properties"].get("Handler"): r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    plan_env = functions["notify.handlers.plan.handler"]["Environment"]["Variables"]
    for name, entry in CHANNELS.items():
        rate = plan_env[f"SEND_RATE_{name}"]
        assert parameters[rate["Ref"]]["Default"] == entry.send_rate
        send = functions[f"notify.handlers.send_{name.lower()}.handler"]
        assert send["Environment"]["Variables"]["SEND_RATE"] == rate
