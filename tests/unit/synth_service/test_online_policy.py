"""Online policy files, redaction patterns and write grants: what a platform team configures, checked offline."""

import re
from collections import Counter

import pytest

from lbi.auth import OPEN_GRANT, TokenTable
from synth_service.online.policy import OFF, PolicyBook
from synth_service.online.redact import Redactor, luhn_ok


def test_redaction_of_emails_keys_and_card_numbers():
    counts: Counter = Counter()
    text = (
        "Mail j.okafor+billing@harbour-freight.co.uk; card 5555-5555-5555-4444; ticket 1234 5678 9012 3456; "
        "AWS AKIAIOSFODNN7EXAMPLE; gh token ghp_abcdefghijklmnopqrstuvwxyz0123456789; "
        'export OPENAI_API_KEY=sk-proj-aaaaaaaaaaaaaaaaaaaa; {"password": "correct horse"}; '
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----; order 20261127"
    )
    out = Redactor().text(text, counts)
    for secret in (
        "j.okafor+billing@harbour-freight.co.uk",
        "5555-5555-5555-4444",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "sk-proj-aaaaaaaaaaaaaaaaaaaa",
        "correct",
        "MIIEow",
    ):
        assert secret not in out, secret
    assert "1234 5678 9012 3456" in out  # fails the Luhn check: a ticket number, not a card
    assert "order 20261127" in out
    assert counts["email"] == 1 and counts["card"] == 1 and counts["secret"] >= 4
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_custom_patterns_and_redaction_off():
    assert Redactor(("ORD-\\d{6}",)).text("refund ORD-104233 to a@b.io") == "refund [REDACTED] to a@b.io"
    assert Redactor(()).text("a@b.io") == "a@b.io"


def test_policy_files(tmp_path):
    good = tmp_path / "p.yaml"
    good.write_text(
        "datasets:\n  shop: {accept_episodes: true, tenants: [checkout], retention_days: 7}\n  '*': {env: sql}\n"
    )
    book = PolicyBook.from_file(good)
    assert (
        book("shop").accept_episodes and book("shop").allows_tenant("checkout") and not book("shop").allows_tenant("x")
    )
    assert not book("other").accept_episodes and book("other").env == "sql"  # the "*" entry
    assert book.datasets == ["shop"]
    assert PolicyBook()("shop") is OFF
    for text, words in (
        ("datasets:\n  shop: {acept_episodes: true}\n", "acept_episodes"),
        ("datasets:\n  shop: {redact: ['(unclosed']}\n", "redact"),
        ("shop: {}\n", "one key"),
        ("datasets: [", ""),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ValueError, match=re.escape(words)):
            PolicyBook.from_file(bad)
    with pytest.raises(ValueError, match=r"missing\.yaml"):
        PolicyBook.from_file(tmp_path / "missing.yaml")


def test_write_grants_and_tenants_from_the_token_spec():
    table = TokenTable("ops@t1,t2=shop|faq,agent@t3=shop:rw|faq")
    by_token = {g.token: g for g in table.grants}
    admin, reader, writer = by_token[b"Bearer t1"], by_token[b"Bearer t2"], by_token[b"Bearer t3"]
    assert admin.tenant == "ops" and admin.may_write("anything") and admin.allows("anything")
    assert reader.allows("shop") and not reader.may_write("shop") and reader.tenant.startswith("token-")
    assert (
        writer.tenant == "agent" and writer.may_write("shop") and not writer.may_write("faq") and writer.allows("faq")
    )
    assert TokenTable("").caller([]) is OPEN_GRANT and table.caller([("authorization", "Bearer nope")]) is None
