"""Environment switches."""

from __future__ import annotations

import logging

import pytest

from anobench.settings import env_flag


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("TRUE", True), (" on ", True), ("0", False), ("Off", False), ("no", False)],
)
def test_words_switch_the_flag(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("ANOBENCH_TEST_FLAG", value)
    assert env_flag("ANOBENCH_TEST_FLAG", not expected) is expected


def test_unset_empty_or_unknown_gives_the_default(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("ANOBENCH_TEST_FLAG", raising=False)
    assert env_flag("ANOBENCH_TEST_FLAG", True) is True
    monkeypatch.setenv("ANOBENCH_TEST_FLAG", "")
    assert env_flag("ANOBENCH_TEST_FLAG", False) is False
    monkeypatch.setenv("ANOBENCH_TEST_FLAG", "maybe")
    with caplog.at_level(logging.WARNING):
        assert env_flag("ANOBENCH_TEST_FLAG", True) is True
    assert "not one of" in caplog.text
