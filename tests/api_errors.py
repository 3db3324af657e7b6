"""Reading the API's error body (core.api.exceptions) in tests."""

from __future__ import annotations


def field_errors(response) -> dict:
    """The error body minus its `detail` and `code`, after checking both are there as non-empty strings:
    for tests that compare the refused fields of many requests."""
    body = response.json()
    assert isinstance(body.get("detail"), str), body
    assert body["detail"], body
    assert isinstance(body.get("code"), str), body
    assert body["code"], body
    return {key: value for key, value in body.items() if key not in ("detail", "code")}
