"""The decode budget's limits and the server-wide count of unsaved uploads."""

import gc

import pytest

from msdash import budget, config
from msdash.io import LoadResult


class TestLimits:
    def test_defaults_follow_the_machine(self, monkeypatch):
        for variable in ("MSDASH_MAX_UPLOAD_BYTES", "MSDASH_MAX_SESSION_BYTES", "MSDASH_MAX_UNSAVED_BYTES"):
            monkeypatch.delenv(variable, raising=False)
        memory = config.physical_memory_bytes()
        assert config.max_upload_bytes() == memory // 8
        assert config.max_session_bytes() == memory // 8
        assert config.max_unsaved_bytes() == memory // 3

    def test_environment_overrides_and_bad_values(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MAX_UPLOAD_BYTES", "1e6")
        assert config.max_upload_bytes() == 1_000_000
        monkeypatch.setenv("MSDASH_MAX_UPLOAD_BYTES", "lots")
        with pytest.raises(ValueError, match="MSDASH_MAX_UPLOAD_BYTES must be a number of bytes"):
            config.max_upload_bytes()


class TestUnsavedLedger:
    def test_held_until_released_or_collected(self):
        start = budget.unsaved_bytes()
        first, second = LoadResult(), LoadResult()
        budget.hold_unsaved(first, 1000)
        budget.hold_unsaved(second, 500)
        assert budget.unsaved_bytes() == start + 1500
        budget.release_unsaved(first)
        assert budget.unsaved_bytes() == start + 500
        del second
        gc.collect()
        assert budget.unsaved_bytes() == start

    def test_the_binding_limit_is_named(self, monkeypatch):
        monkeypatch.setenv("MSDASH_MAX_UPLOAD_BYTES", "10000")
        monkeypatch.setenv("MSDASH_MAX_SESSION_BYTES", "20000")
        monkeypatch.setenv("MSDASH_MAX_UNSAVED_BYTES", str(budget.unsaved_bytes() + 9000))
        other = LoadResult()
        budget.hold_unsaved(other, 4000)  # another session's upload leaves 5000
        try:
            chosen = budget.upload_budget()
            assert chosen.limit == 5000 and chosen.variable.startswith("MSDASH_MAX_UNSAVED_BYTES")
            with pytest.raises(ValueError, match="other sessions' unsaved uploads hold 3.9 KiB"):
                chosen.check("x.png", (100, 100), "u1")  # 40,000 bytes as float32
        finally:
            budget.release_unsaved(other)
        monkeypatch.setenv("MSDASH_MAX_UNSAVED_BYTES", str(10**12))
        assert budget.upload_budget().variable == "MSDASH_MAX_UPLOAD_BYTES"
