"""Amazon SES v2: send one email."""

from __future__ import annotations

import re
from typing import Any

from notify.domain.channels.email import Email
from notify.integration.providers.ses.errors import ses_errors

_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class SesEmailSender:
    def __init__(self, client: Any, configuration_set: str | None) -> None:
        self._client = client
        self._configuration_set = configuration_set

    def send(self, email: Email, trace_id: str) -> str:
        """Send and return SES's MessageId; provider errors become Transient/Permanent.

        The TraceId travels as an email tag, so SES events can be matched to the trace.
        """
        body = {"Text": {"Data": email.text, "Charset": "UTF-8"}}
        if email.html:
            body["Html"] = {"Data": email.html, "Charset": "UTF-8"}
        request: dict[str, Any] = {
            "FromEmailAddress": email.from_address,
            "Destination": {"ToAddresses": [email.to]},
            "Content": {
                "Simple": {"Subject": {"Data": email.subject, "Charset": "UTF-8"}, "Body": body}
            },
            "EmailTags": [{"Name": "TraceId", "Value": _tag_value(trace_id)}],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        with ses_errors():
            return self._client.send_email(**request)["MessageId"]


def _tag_value(value: str) -> str:
    # SES tag values allow only letters, digits, '_', '-' and '.'.
    return _TAG_UNSAFE.sub("_", value)[:256]
