"""No credentials in the repository: every tracked file is scanned (tests/security/secret_scan.py).

The positive examples are assembled at run time so this file itself stays clean.
"""

from __future__ import annotations

import pytest

from .secret_scan import ALLOWED_VALUES, REPO, scan_files, scan_text, tracked_files

KEY_ID = "AKIA" + "Z7Q4MPL2XK9RT3VB"
TEMP_KEY_ID = "ASIA" + "Y2N8QW4E6R1T5U7I"
SECRET = "k9Xv2" + "Lq8Zr4Wm1Np7Tb3Yc6Hd0Fj5Gs2Ae9Ku8"
BEGIN = "-----BEGIN " + "RSA PRIVATE KEY-----"
FAKE_PW = "hunter" + "22!"


def test_no_secrets_in_tracked_files() -> None:
    files = tracked_files()
    assert len(files) > 50, "git ls-files found almost nothing: is this a checkout?"
    findings = scan_files(files)
    assert not findings, "possible secrets in tracked files:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f'key_id = "{KEY_ID}"', "AWS access key id"),
        (f"export AWS_ACCESS_KEY_ID={TEMP_KEY_ID}", "AWS access key id"),
        (f'aws_secret_access_key="{SECRET}"', "secret key literal"),
        (f'os.environ["AWS_SECRET_ACCESS_KEY"] = "{SECRET}"', "secret key literal"),
        (f'client(SecretAccessKey="{SECRET}")', "secret key literal"),
        (BEGIN, "private key block"),
        (f'snowflake_password = "{FAKE_PW}"', "password literal"),
        (f'snowflake.Provider("sf", password="{FAKE_PW}")', "password literal"),
        (f"  snowflakePassword: {FAKE_PW}", "secret literal"),
        (f"SNOWFLAKE_PASSWORD={FAKE_PW}", "secret literal"),
    ],
)
def test_scanner_finds_each_kind(text: str, kind: str) -> None:
    findings = scan_text(text, "example.py")
    assert [f.kind for f in findings] == [kind], findings
    assert SECRET not in str(findings[0]), "findings must not echo the secret"


@pytest.mark.parametrize(
    "text",
    [
        '"AWS_SECRET_ACCESS_KEY": "testing",',
        'os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")',
        "aws_access_key_id=AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key=creds['SecretAccessKey'],",
        'password = os.environ["SNOWFLAKE_PASSWORD"]',
        "  snowflakePassword:\n    secure: AAABAHh0dGVzdA==",
        "password: ${{ secrets.SNOWFLAKE_PASSWORD }}",
        'password=""',
        '"AWS_SECRET_ACCESS_KEY": "t",',  # a stub, too short to be a credential
        'f"--password={password}"',
        '            "accountPasswordPolicy:AccountPasswordPolicy",',
    ],
)
def test_scanner_allows_fakes_and_lookups(text: str) -> None:
    assert scan_text(text) == []


def test_allow_list_is_documented() -> None:
    assert all(reason for reason in ALLOWED_VALUES.values())
    assert (REPO / ".git").exists()
