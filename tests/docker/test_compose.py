"""docker/compose.yaml, checked without a Docker engine: every `lienthong` command in it
exists with the options it passes, and every variable it sets is a real setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from hub.settings import HubSettings
from lienthong.cli import app

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"
DOCKERFILE = COMPOSE.parent / "Dockerfile"


def _services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services: dict[str, dict[str, Any]] = document["services"]
    return services


def _ours() -> dict[str, dict[str, Any]]:
    """The services that run our image (PostgreSQL is someone else's)."""
    return {
        name: service
        for name, service in _services().items()
        if service.get("image", "").startswith("lienthong") or "build" in service
    }


def _resolve(argv: list[str]) -> tuple[Any, list[str]]:
    """The (click) command `argv` names, and the arguments left for it."""
    command: Any = typer.main.get_command(app)
    rest = list(argv)
    while getattr(command, "commands", None) and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        assert sub is not None, f"no command {rest[0]!r} in {argv}"
        command, rest = sub, rest[1:]
    return command, rest


def _envvars(command: Any) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        envvar = getattr(param, "envvar", None)
        if isinstance(envvar, str):
            names.add(envvar)
        elif envvar:
            names.update(envvar)
    return names


HUB_VARIABLES = {f"LIENTHONG_{name.upper()}" for name in HubSettings.model_fields}


def test_the_compose_file_has_postgres_two_hubs_and_three_nodes() -> None:
    services = _services()
    commands = {name: s.get("command", [])[:3] for name, s in _ours().items()}
    hubs = [name for name, c in commands.items() if c == ["lienthong", "hub", "serve"]]
    nodes = [name for name, c in commands.items() if c == ["lienthong", "node", "serve"]]
    assert services["postgres"]["image"].startswith("postgres")
    assert len(hubs) == 2 and len(nodes) == 3
    for name in hubs:
        assert "postgres" in services[name]["environment"]["LIENTHONG_DATABASE_URL"]


@pytest.mark.parametrize("service", sorted(_ours()))
def test_every_command_is_a_real_lienthong_command(service: str) -> None:
    argv = _ours()[service]["command"]
    assert argv[0] == "lienthong"
    result = CliRunner().invoke(app, [*argv[1:], "--help"])
    assert result.exit_code == 0, result.output
    command, rest = _resolve(argv[1:])
    known = {opt for param in command.params for opt in param.opts}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{service}: {word} is not an option of {argv[:3]}"


@pytest.mark.parametrize("service", sorted(_ours()))
def test_every_variable_is_a_real_setting(service: str) -> None:
    spec = _ours()[service]
    command, _ = _resolve(spec["command"][1:])
    allowed = HUB_VARIABLES | _envvars(command)
    for variable in spec.get("environment", {}):
        assert variable in allowed, f"{service}: {variable} is not a setting"


def test_the_unknown_is_refused() -> None:
    """The checks above can fail: a made-up option and a made-up variable are caught."""
    command, _ = _resolve(["hub", "serve"])
    assert "--no-such-option" not in {opt for p in command.params for opt in p.opts}
    assert "LIENTHONG_NO_SUCH_SETTING" not in HUB_VARIABLES | _envvars(command)
    with pytest.raises(AssertionError):
        _resolve(["hub", "no-such-command"])


def test_the_dockerfile_installs_the_console_script() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["lienthong"]' in text
    for package in ("lienthong", "signing", "registry", "hub", "member_node", "migrations"):
        assert f"COPY {package} ./{package}" in text
