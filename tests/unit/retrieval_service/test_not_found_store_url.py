"""NOT_FOUND names where the service looked; credentials written into a Qdrant URL are not part of it."""

from retrieval_service.service import _without_userinfo


def test_credentials_in_the_store_url_stay_home():
    assert _without_userinfo("https://lbi:sk-qdrant-key@qdrant.internal:6333") == "https://qdrant.internal:6333"
    for kept in ("", ":memory:", "http://qdrant:6333", "qdrant:6334"):
        assert _without_userinfo(kept) == kept
