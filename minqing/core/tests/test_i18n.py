from django.test import Client


def test_the_zh_hans_catalogue_is_compiled_and_used(db):
    """Labels end with the full-width colon that only our compiled catalogue supplies."""
    page = Client().get("/accounts/login/").content.decode()
    assert "用户名：" in page and "用户名:" not in page
    assert '<html lang="zh-Hans">' in page
