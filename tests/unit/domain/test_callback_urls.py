"""The callback URL guard: https to public addresses only, checked again after DNS."""

from __future__ import annotations

import pytest

from notify.domain.callback_urls import (
    UnsafeUrl,
    check_address,
    checked_addresses,
    parse_callback_url,
)

REFUSED_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.9", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("fd00:ec2::254", "private"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "not a public address"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("64:ff9b::a00:1", "NAT64"),
    ("2002:a00:1::1", "6to4"),
    ("224.0.0.1", "multicast"),
    ("192.0.2.10", "private"),
    ("fc00::1", "private"),
]


@pytest.mark.parametrize(
    ("address", "reason"), REFUSED_ADDRESSES, ids=[a for a, _ in REFUSED_ADDRESSES]
)
def test_a_non_public_address_is_refused_with_its_reason(address, reason):
    with pytest.raises(UnsafeUrl, match=reason):
        check_address(address, allow_loopback=False)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_a_public_address_is_allowed(address):
    assert str(check_address(address, allow_loopback=False)) == address


def test_loopback_is_allowed_only_when_configured():
    assert str(check_address("127.0.0.1", allow_loopback=True)) == "127.0.0.1"
    with pytest.raises(UnsafeUrl, match="link-local"):
        check_address("169.254.169.254", allow_loopback=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("https://user:pw@hooks.example.com/", "user name or password"),
        ("https:///path", "no host"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://hooks example.com/", "spaces"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[::1]/", "loopback"),
        ("https://[::ffff:10.0.0.1]/", "IPv4-mapped"),
        ("https://10.0.0.7/hook", "private"),
        ("https://hooks_example.com/", "not a valid host name"),
        ("https://" + "a" * 2050 + ".com/", "of 1-2048 characters"),
    ],
    ids=[
        "http",
        "ftp",
        "credentials",
        "no-host",
        "bad-port",
        "space",
        "metadata",
        "ipv6-loopback",
        "ipv4-mapped",
        "private-literal",
        "bad-host",
        "too-long",
    ],
)
def test_an_unsafe_url_is_refused_at_registration(url, reason):
    with pytest.raises(UnsafeUrl, match=reason):
        parse_callback_url(url, allow_loopback=False)


def test_plain_http_is_allowed_to_loopback_only_and_only_when_configured():
    url = parse_callback_url("http://127.0.0.1:8080/cb?x=1", allow_loopback=True)
    assert (url.scheme, url.host, url.port, url.target) == ("http", "127.0.0.1", 8080, "/cb?x=1")
    with pytest.raises(UnsafeUrl, match="https"):
        parse_callback_url("http://127.0.0.1:8080/cb", allow_loopback=False)
    named = parse_callback_url("http://hooks.example.com/cb", allow_loopback=True)
    with pytest.raises(UnsafeUrl, match="https"):
        checked_addresses(named, lambda host, port: ["93.184.216.34"], allow_loopback=True)
    with pytest.raises(UnsafeUrl, match="https"):
        parse_callback_url("http://93.184.216.34/cb", allow_loopback=True)


def test_a_public_https_url_is_parsed_with_its_host_header():
    url = parse_callback_url("https://Hooks.Example.com/status", allow_loopback=False)
    assert (url.host, url.port, url.target, url.host_header) == (
        "hooks.example.com",
        443,
        "/status",
        "hooks.example.com",
    )
    assert parse_callback_url("https://[2606:4700::1]:8443/", False).host_header == (
        "[2606:4700::1]:8443"
    )


def test_a_name_resolving_to_a_private_address_is_refused_after_resolution():
    url = parse_callback_url("https://hooks.example.com/", allow_loopback=False)
    with pytest.raises(UnsafeUrl, match="private"):
        checked_addresses(url, lambda host, port: ["10.0.0.5"], allow_loopback=False)


def test_one_private_address_among_public_ones_refuses_the_whole_name():
    url = parse_callback_url("https://hooks.example.com/", allow_loopback=False)
    with pytest.raises(UnsafeUrl, match=r"169\.254\.169\.254"):
        checked_addresses(
            url, lambda host, port: ["93.184.216.34", "169.254.169.254"], allow_loopback=False
        )


def test_a_name_resolving_to_nothing_is_refused():
    url = parse_callback_url("https://hooks.example.com/", allow_loopback=False)
    with pytest.raises(UnsafeUrl, match="no address"):
        checked_addresses(url, lambda host, port: [], allow_loopback=False)


def test_an_ip_literal_is_not_resolved():
    url = parse_callback_url("https://93.184.216.34/", allow_loopback=False)

    def resolver(host, port):
        raise AssertionError("an IP literal needs no DNS")

    assert checked_addresses(url, resolver, allow_loopback=False) == ["93.184.216.34"]
