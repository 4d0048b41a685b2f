"""Amazon SES v2, the EMAIL channel's provider: its sender, its errors and its events."""

from notify.integration.providers.ses.sender import SesEmailSender

__all__ = ["SesEmailSender"]
