import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from conftest import ROOT
from minqing.accounts.models import User
from minqing.areas.models import Area


def test_bootstrap_refuses_a_second_district(db, monkeypatch):
    """The demo database already has its district: bootstrapping again is refused, nothing stored."""
    monkeypatch.setenv("MINQING_BOOTSTRAP_PASSWORD", "Boot#strap2026")
    before = (Area.objects.count(), User.objects.count())
    with pytest.raises(CommandError, match="district_code"):
        call_command("bootstrap", "--district-code", "999999", "--district-name", "新区", "--username", "root1")
    assert (Area.objects.count(), User.objects.count()) == before


def test_bootstrap_creates_the_district_and_its_first_account(tmp_path):
    """On an empty database (a fresh deployment): the district and one account that will need TOTP."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'boot.sqlite3'}", "MINQING_VAR_DIR": str(tmp_path)}

    def run(*args, password=None):
        extra = {"MINQING_BOOTSTRAP_PASSWORD": password} if password else {}
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, env={**env, **extra}
        )

    assert run("migrate", "-v0").returncode == 0
    args = ("bootstrap", "--district-code", "150603", "--district-name", "民安区", "--username", "chief")
    weak = run(*args, password="password")
    assert weak.returncode != 0 and "password" in weak.stderr
    assert run(*args, password="Boot#strap2026").returncode == 0
    check = run(
        "shell",
        "-c",
        "from minqing.accounts.models import User; u = User.objects.get(username='chief');"
        "print(u.role, u.area.level, u.area.path == f'/{u.area.pk}/', u.requires_mfa)",
    )
    assert check.stdout.strip().splitlines()[-1].split() == ["district_staff", "district", "True", "True"]
    again = run(*args[:-1], "chief2", password="Boot#strap2026")
    assert again.returncode != 0 and "district_code" in again.stderr
