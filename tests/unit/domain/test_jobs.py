"""A job's table checked: what refuses the whole job, what refuses one row, and the
request each row becomes."""

import json
from collections import Counter

import pytest

from notify.domain.channels import CHANNELS
from notify.domain.jobs import (
    MAX_ROWS,
    JobRefused,
    JobSpec,
    batch_records,
    check_table,
    counts,
    read_table,
)
from notify.domain.plan import plan

EMAIL, SMS = CHANNELS["EMAIL"], CHANNELS["SMS"]


def test_the_address_column_is_found_by_any_of_its_names_whatever_their_case():
    for name in ("address", "Email Address", "PHONE NUMBER"):
        checked = check_table([[name, "code"], ["+16045550100", "1"]], SMS, set())
        assert [r.address for r in checked.rows] == ["+16045550100"]


@pytest.mark.parametrize(
    ("table", "needed", "reason"),
    [
        ([["name", "code"], ["Ann", "1"]], set(), "no address column"),
        ([["address"]], set(), "no rows"),
        ([], set(), "no header row"),
        ([["address", "name"], ["a@example.com", "Ann"]], {"code"}, "needs code"),
        ([["address"]] + [["a@example.com"]] * (MAX_ROWS + 1), set(), "at most 100000"),
    ],
)
def test_what_refuses_the_whole_job_names_it(table, needed, reason):
    with pytest.raises(JobRefused, match=reason):
        check_table(table, EMAIL, needed)


def test_a_row_wrong_on_its_own_is_reported_by_its_number_and_the_others_are_sent():
    table = read_table(
        {
            "Csv": "\ufeffEmail address,name\n"
            "A@Example.COM,Ann\n"
            "not-an-address,Bob\n"
            "A@example.com,Ann again\n"
            ",Nobody\n"
            "c@example.org,\n"
            "d@example.org,Dee\n"
        }
    )

    checked = check_table(table, EMAIL, {"name"})

    assert [(r.row, r.address, r.substitutions) for r in checked.rows] == [
        (1, "A@example.com", {"name": "Ann"}),
        (6, "d@example.org", {"name": "Dee"}),
    ]
    assert [(e.row, e.address) for e in checked.errors] == [
        (2, "not-an-address"),
        (3, "A@example.com"),
        (4, ""),
        (5, "c@example.org"),
    ]
    reasons = [e.reason for e in checked.errors]
    assert "@-sign" in reasons[0]
    assert reasons[1:] == [
        "a duplicate of an earlier row's address",
        "no address",
        "no value for: name",
    ]
    assert checked.total == 6


def test_rows_must_be_lists_of_strings():
    with pytest.raises(JobRefused, match="Csv"):
        read_table({"Rows": [["address"], ["a@example.com", 3]]})


def test_a_job_spec_names_its_channel_block_and_lane():
    with pytest.raises(JobRefused, match="ChannelType"):
        JobSpec.from_body({"ChannelType": "FAX"})
    with pytest.raises(JobRefused, match="EmailMessage"):
        JobSpec.from_body({"ChannelType": "EMAIL"})
    with pytest.raises(JobRefused, match="template"):
        JobSpec.from_body({"ChannelType": "SMS", "SMSMessage": {"MessageBody": "x" * 7000}})
    spec = JobSpec.from_body({"ChannelType": "SMS", "SMSMessage": {"MessageBody": "hi"}})
    assert spec.priority == "bulk"


def test_each_row_of_a_batch_is_a_queued_request_plan_reads_with_its_own_trace():
    caller = {"sub": "app", "customer_id": "acme"}
    job = {
        "JobId": "job-1",
        "Owner": "customer:acme",
        "ChannelType": "EMAIL",
        "Message": {"FromAddress": "news@example.com", "TemplateName": "welcome"},
        "Priority": "bulk",
        "Caller": caller,
    }
    items = [{"Row": 7, "Address": "a@example.com", "Substitutions": {"name": "Ann"}}]

    [record] = batch_records({"Items": items, "BatchInput": {"Job": job}})
    planned = plan(record["body"])

    assert record["messageId"] == planned.trace_id == "job-1-7"
    assert planned.priority == "bulk"
    assert planned.messages == {"EmailMessage": job["Message"]}
    [recipient] = planned.deliveries
    assert recipient["Job"] == "job-1"
    assert recipient["Substitutions"] == {"name": "Ann"}
    assert json.loads(record["body"])["Caller"] == caller


def test_counts_add_up_to_the_total_and_a_cancelled_job_counts_what_never_ran_as_cancelled():
    seen = Counter({"SENT": 5, "REJECTED": 1, "FAILED": 1})

    running = counts(10, seen, delivered=3, status="RUNNING")
    cancelled = counts(10, seen, delivered=3, status="CANCELLED")

    assert running == {
        "Sent": 5,
        "Rejected": 1,
        "Failed": 1,
        "Cancelled": 0,
        "Delivered": 3,
        "Pending": 3,
    }
    assert cancelled["Cancelled"] == 3
    assert cancelled["Pending"] == 0
