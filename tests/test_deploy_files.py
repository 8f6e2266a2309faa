"""The deployment files (issue 14) agree with the settings salesbot reads (bot/config.py, SPEC section 2).

Docker itself need not run here: the files are read as data. compose.yaml must set only
variables salesbot knows (a typo would be ignored silently at run time), the required ones,
the scheduler on in every replica, two replicas behind one published port; the Dockerfile must
run as a non-root user, check /healthz and start `salesbot run`.
"""
from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, load_settings
from tests.conftest import REPO

CONFIG = REPO / "bot" / "config.py"
COMPOSE = REPO / "compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}: compose's interpolation.
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def known_variables() -> set[str]:
    """Every environment variable bot/config.py reads."""
    source = CONFIG.read_text(encoding="utf-8")
    names = set(re.findall(r'_get\(env, "([A-Z][A-Z0-9_]+)"\)', source))
    for group in re.findall(r"for name in \(([^)]*)\)", source):
        names |= set(re.findall(r'"([A-Z][A-Z0-9_]+)"', group))
    return names


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def salesbot_services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the salesbot image."""
    return {
        name: service for name, service in data["services"].items()
        if "build" in service or str(service.get("image", "")).startswith("salesbot")
    }


def resolved(environment: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """The environment as compose would hand it over, with `env` as the .env file."""

    def one(match: re.Match[str]) -> str:
        name, rest = match.group(1), match.group(0)[len(match.group(1)) + 2 : -1]
        if env.get(name):
            return env[name]
        if rest.startswith((":-", "-")):
            return rest.split("-", 1)[1]
        raise KeyError(f"{name} is required by compose.yaml")

    return {key: INTERPOLATION.sub(one, str(value)) for key, value in environment.items()}


def test_config_reads_the_variables_of_spec_section_2() -> None:
    assert known_variables() >= {
        "DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET", "SLACK_API_URL", "SALESBOT_LEAD_WEBHOOK_SECRET", "SALESBOT_SCHEDULER",
        "SALESBOT_LOCALE", "SALESBOT_ENCRYPTION_KEY", "LOG_LEVEL", "LOG_FORMAT", "PORT",
    }


def test_compose_sets_only_known_variables_and_the_required_ones() -> None:
    data = compose()
    services = salesbot_services(data)
    assert set(services) == {"migrate", "salesbot"}
    known = known_variables()
    for name, service in services.items():
        environment = service["environment"]
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        unknown = set(environment) - known
        assert not unknown, f"{name} sets variables salesbot does not read: {sorted(unknown)}"
        assert {"DATABASE_URL", "SLACK_SIGNING_SECRET"} <= set(environment)
        # One workspace (a bot token) or several (OAuth: client id, secret, encryption key).
        assert {"SLACK_BOT_TOKEN"} <= set(environment)
        assert {"SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SALESBOT_ENCRYPTION_KEY"} <= set(environment)
        assert "SLACK_APP_TOKEN" not in environment  # replicas behind a load balancer serve HTTP
        assert environment["SALESBOT_SCHEDULER"] == "on"
        assert "postgresql" in environment["DATABASE_URL"] and "@db:5432/" in environment["DATABASE_URL"]
        assert "${SLACK_SIGNING_SECRET:?" in environment["SLACK_SIGNING_SECRET"]  # compose refuses to start without


def test_the_compose_environment_passes_salesbots_own_checks() -> None:
    """What compose hands over with a typical .env is accepted by load_settings as is."""
    environment = compose()["services"]["salesbot"]["environment"]
    env = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef"}
    settings = load_settings(resolved(environment, env), read_dotenv=False)
    assert settings.scheduler and settings.log_format == "json" and settings.slack_bot_token == "xoxb-1-2-abc"
    assert settings.database_url.startswith("postgresql+psycopg://salesbot:") and not settings.oauth
    try:
        resolved(environment, {"SLACK_BOT_TOKEN": "xoxb-1"})
    except KeyError as missing:
        assert "SLACK_SIGNING_SECRET" in str(missing)
    else:
        raise AssertionError("compose.yaml should require SLACK_SIGNING_SECRET")
    oauth = {**env, "SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "s3cret-client",
             "SALESBOT_ENCRYPTION_KEY": "Q2hhbmdlTWVJbnRoZVRlc3RTdWl0ZUtleTEyMzQ1Njc="}
    with pytest.raises(ConfigError, match="SALESBOT_STATE_SECRET"):  # OAuth signs its install links with it
        load_settings(resolved(environment, oauth), read_dotenv=False)
    oauth["SALESBOT_STATE_SECRET"] = "0123456789abcdef0123456789abcdef"
    assert load_settings(resolved(environment, oauth), read_dotenv=False).oauth
    bad = {**env, "SALESBOT_LOCALE": "xx"}
    try:
        load_settings(resolved(environment, bad), read_dotenv=False)
    except ConfigError as err:
        assert "SALESBOT_LOCALE" in str(err)
    else:
        raise AssertionError("a bad SALESBOT_LOCALE in .env should stop salesbot")


def test_compose_runs_two_replicas_behind_one_port_after_the_migrations() -> None:
    data = compose()
    salesbot = data["services"]["salesbot"]
    assert salesbot["deploy"]["replicas"] == 2
    assert "ports" not in salesbot  # reached through the proxy only
    assert salesbot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert data["services"]["migrate"]["command"] == ["migrate"]
    assert data["services"]["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    proxy = data["services"]["proxy"]
    [port] = proxy["ports"]
    assert str(port).endswith(":8080")
    [conf] = [v for v in proxy["volumes"] if "nginx.conf" in v]
    nginx = (REPO / conf.split(":")[0]).read_text(encoding="utf-8")
    assert "server salesbot:3000 resolve;" in nginx and "listen 8080;" in nginx
    assert data["services"]["db"]["image"].startswith("postgres:")


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_dockerfile_runs_salesbot_as_a_non_root_user_with_a_health_check() -> None:
    instructions = dockerfile_instructions()
    keys = [key for key, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [arg for key, arg in instructions if key == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    # The user is switched to before the process starts, after the installs that need root.
    assert keys.index("USER") > max(i for i, k in enumerate(keys) if k == "RUN")
    [health] = [arg for key, arg in instructions if key == "HEALTHCHECK"]
    assert "urllib.request" in health and "/healthz" in health and "curl" not in health
    [entry] = [arg for key, arg in instructions if key == "ENTRYPOINT"]
    [cmd] = [arg for key, arg in instructions if key == "CMD"]
    assert shlex.split(entry.strip("[]").replace(",", " ")) == ["salesbot"]
    assert shlex.split(cmd.strip("[]").replace(",", " ")) == ["run"]
    installs = " ".join(arg for key, arg in instructions if key == "RUN")
    assert 'pip install ".[postgres]"' in installs


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    assert {".env", ".git", ".venv", "*.db", "tests"} <= ignored
    copied = [path for key, arg in dockerfile_instructions() if key == "COPY" for path in arg.split()[:-1]]
    assert copied and not set(copied) & ignored
    assert all((REPO / path).exists() for path in copied)
