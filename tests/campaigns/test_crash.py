"""Crash safety of the dialer (issue 6): `manage.py dialer` is started as its own process on a
campaign against the simulated Asterisk (another process, which outlives it), killed with SIGKILL
at random moments several times and started again. Then, for every number, the originations the
PBX saw equal its attempt rows and are at most 1 + 重呼次数; nothing was originated without a
committed attempt; no attempt is left dialling; no number was lost (callcenter/campaigns/dialer/crash.py).
`make bench` repeats this 100 times (bench/campaign_crash.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from callcenter.campaigns.dialer.crash import CrashConfig, run_round


@pytest.fixture
def child_env(settings, tmp_path):
    return {"DJANGO_SETTINGS_MODULE": "tests.campaigns.proc_settings",
            "CALLCENTER_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
            "CALLCENTER_VAR_DIR": str(tmp_path / "var")}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("seed", [11, 12])
def test_killed_and_restarted_dialer_dials_each_attempt_once_and_loses_nothing(seed, child_env, tmp_path):
    cfg = CrashConfig(numbers=25, kills=3, retries=1, seed=seed, child_env=child_env, log_dir=tmp_path / "logs")
    result = run_round(cfg)
    logs = "\n".join(p.name + ":\n" + p.read_text(errors="replace")[-3000:] for p in sorted(cfg.log_dir.glob("*.log")))
    assert result.ended, logs
    assert result.kills >= 1, logs
    assert result.violations == [], (result, logs)
    assert result.originations == result.attempts >= result.numbers - result.results.get("blacklisted", 0)
