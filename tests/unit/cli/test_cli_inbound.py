"""`messaging inbound`: the parameters of Twilio's incoming-message webhook."""

from __future__ import annotations

import pytest

from cli.inbound import inbound_params


@pytest.mark.parametrize(
    ("sender", "to"),
    [("whatsapp:+447835065013", "whatsapp:+14155238886"), ("+16048621234", "+14155238886")],
    ids=["whatsapp", "sms"],
)
def test_the_message_is_written_to_the_sandbox_number_on_the_senders_channel(sender, to):
    params = inbound_params(sender, "STOP", None, "AC123")

    assert (params["From"], params["To"], params["Body"]) == (sender, to, "STOP")
    assert params["AccountSid"] == "AC123"


def test_each_message_has_its_own_sid_and_a_chosen_number_is_kept():
    first = inbound_params("+16048621234", "hi", "+15005550006", "AC123")
    second = inbound_params("+16048621234", "hi", "+15005550006", "AC123")

    assert first["To"] == "+15005550006"
    assert first["MessageSid"] != second["MessageSid"]
    assert first["MessageSid"].startswith("SM")
