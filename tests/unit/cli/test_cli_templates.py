"""`messaging templates put`: the item it stores from its options."""

from __future__ import annotations

import pytest

from cli.errors import CommandError
from cli.main import parser
from cli.templates import MAX_ITEM_BYTES, item_size, template_item


def item(*argv: str) -> dict[str, str]:
    return template_item(parser().parse_args(["templates", "put", *argv]))


def test_a_body_and_subject_make_the_item():
    assert item("alert", "--body", "Hi {name}", "--subject", "Alert") == {
        "TemplateName": "alert",
        "MessageBody": "Hi {name}",
        "Subject": "Alert",
    }


def test_the_body_and_the_email_parts_are_read_from_files(tmp_path):
    (tmp_path / "body.txt").write_text("SMS {x}")
    (tmp_path / "mail.html").write_text("<p>{x}</p>")
    (tmp_path / "mail.txt").write_text("{x}")

    assert item(
        "alert",
        "--file",
        str(tmp_path / "body.txt"),
        "--html",
        str(tmp_path / "mail.html"),
        "--text",
        str(tmp_path / "mail.txt"),
    ) == {
        "TemplateName": "alert",
        "MessageBody": "SMS {x}",
        "HtmlBody": "<p>{x}</p>",
        "TextBody": "{x}",
    }


def test_a_template_without_any_body_is_refused():
    with pytest.raises(CommandError, match="needs a body"):
        item("alert", "--subject", "only a subject")


def test_a_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"cannot read .*nope.txt: No such file"):
        item("alert", "--file", str(tmp_path / "nope.txt"))


def test_a_template_at_dynamodbs_item_limit_is_accepted(tmp_path):
    body = "x" * (MAX_ITEM_BYTES - len("TemplateNamealertMessageBody"))
    (tmp_path / "big.txt").write_text(body)

    assert item_size(item("alert", "--file", str(tmp_path / "big.txt"))) == MAX_ITEM_BYTES


def test_a_template_over_dynamodbs_item_limit_is_one_clear_error(tmp_path):
    # 2-byte characters: the limit is in UTF-8 bytes, not characters.
    (tmp_path / "big.html").write_text("é" * 150_000)
    (tmp_path / "big.txt").write_text("e" * 150_000)

    with pytest.raises(CommandError) as refused:
        item("alert", "--html", str(tmp_path / "big.html"), "--text", str(tmp_path / "big.txt"))

    assert str(refused.value) == (
        "template alert is 450033 bytes; a DynamoDB item holds at most 409600 bytes (400 KB): "
        "shorten the body or split the template"
    )
