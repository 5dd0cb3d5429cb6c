"""Settings: environment switches, the installed settings, and workers receiving them."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from anobench import settings
from anobench.data import io
from anobench.execution.executors.local import ProcessExecutor
from anobench.settings import Settings, env_flag


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


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        "ANOBENCH_DATA_DIR": str(tmp_path),
        "ANOBENCH_OFFLINE": "yes",
        "ANOBENCH_PIN_WORKERS": "0",
    }
    got = Settings.from_env(env)
    assert got.data_dir == tmp_path and got.offline and not got.pin_workers
    assert got.cache_dir is None and got.xla_cache and not got.fresh_workers
    assert Settings.from_env({}) == Settings()
    monkeypatch.setenv("ANOBENCH_REFERENCE_DIR", str(tmp_path / "ref"))
    assert settings.current().reference_dir == tmp_path / "ref"  # read at call time


def test_configure_and_overridden_never_touch_os_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ANOBENCH_DATA_DIR", raising=False)
    before = dict(os.environ)
    try:
        with settings.overridden(data_dir=str(tmp_path), offline=True) as inside:
            assert inside.data_dir == tmp_path and settings.current() is inside
            assert io.data_dir() == tmp_path and io.offline()
        assert settings.current().data_dir is None
        settings.configure(fresh_workers=True)
        assert settings.current().fresh_workers
    finally:
        settings.configure(None)
    assert not settings.current().fresh_workers
    assert dict(os.environ) == before


PROBE = """
from anobench import settings
from anobench.record import CellResult

def probe(cell):
    now = settings.current()
    seen = {"data_dir": str(now.data_dir), "offline": now.offline}
    return CellResult.for_cell(
        cell, status="ok", anobench_version="0", finished_at="t", environment=seen
    )

def failure(cell, status, message):
    return CellResult.for_cell(
        cell, status=status, error=message, anobench_version="0", finished_at="t"
    )
"""


def test_workers_receive_the_runners_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_cell: Any
) -> None:
    """``--data-dir`` reaches the cells without an environment variable."""
    (tmp_path / "settings_probe.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ANOBENCH_DATA_DIR", raising=False)
    probe = importlib.import_module("settings_probe")
    cell = make_cell(0)
    with settings.overridden(data_dir=tmp_path, offline=True):
        runs = ProcessExecutor(1).run([cell], probe.probe, probe.failure)
        records = [r.environment for _, r in runs]
    assert records == [{"data_dir": str(tmp_path), "offline": True}]


def test_data_dir_holds_for_one_command_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from anobench.cli import main

    monkeypatch.delenv("ANOBENCH_DATA_DIR", raising=False)
    assert main(["--data-dir", str(tmp_path), "list", "suites"]) == 0
    assert settings.current().data_dir is None
    monkeypatch.setenv("ANOBENCH_OFFLINE", "1")
    assert settings.current().offline  # the environment is read again
