"""The opt-outs table: STOP / START per address and channel, later wishes kept."""

from __future__ import annotations

import pytest

from notify.integration.opt_outs import OptOutStore

NUMBER = "+16048621234"
T1, T2, T3 = "2026-11-24T10:00:01+00:00", "2026-11-24T10:00:02+00:00", "2026-11-24T10:00:03+00:00"


@pytest.fixture
def store(mocked_aws, table_from_template, request) -> OptOutStore:
    name = f"opt-outs-{request.node.name}"[:200]
    table_from_template("OptOutsTable", name)
    return OptOutStore(mocked_aws.client("dynamodb"), name)


def test_an_opt_out_is_per_channel(store):
    assert store.opt_out(NUMBER, "WHATSAPP", T1, "STOP")

    assert (NUMBER, "WHATSAPP") in store.opted_out([(NUMBER, "WHATSAPP")])
    assert (NUMBER, "SMS") not in store.opted_out([(NUMBER, "SMS")])


def test_an_opt_in_removes_the_opt_out(store):
    store.opt_out(NUMBER, "SMS", T1, "STOP")

    assert store.opt_in(NUMBER, "SMS", T2)
    assert (NUMBER, "SMS") not in store.opted_out([(NUMBER, "SMS")])


def test_an_earlier_start_processed_after_a_later_stop_leaves_the_stop(store):
    store.opt_out(NUMBER, "SMS", T3, "STOP")

    assert not store.opt_in(NUMBER, "SMS", T2)
    assert (NUMBER, "SMS") in store.opted_out([(NUMBER, "SMS")])


def test_an_earlier_stop_processed_late_does_not_overwrite_a_later_one(store, mocked_aws):
    store.opt_out(NUMBER, "SMS", T3, "QUIT")

    assert not store.opt_out(NUMBER, "SMS", T1, "STOP")
    assert (NUMBER, "SMS") in store.opted_out([(NUMBER, "SMS")])


def test_an_opt_in_without_an_opt_out_is_harmless(store):
    assert store.opt_in(NUMBER, "SMS", T1)
    assert (NUMBER, "SMS") not in store.opted_out([(NUMBER, "SMS")])
