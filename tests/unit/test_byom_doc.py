"""docs/byom.md names only real commands: every ``edgeloop`` command and option in it exists.

Commands are read from the page's code blocks and inline code (``edgeloop ...``,
``python -m edgeloop.cli ...``, ``python -m localdev.run ...``); each is walked down the
command tree that typer builds from ``edgeloop.cli.app``, and each ``--option`` must
be one of the command's. A checker that accepted anything would pass here too, so it is
shown to refuse an invented subcommand and an invented option.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from edgeloop.cli import app
from localdev.run import parse_args

DOC = Path(__file__).resolve().parents[2] / "docs" / "byom.md"
FENCE = re.compile(r"```(?:bash|sh)\n(.*?)```", re.DOTALL)
ANY_FENCE = re.compile(r"```.*?```", re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
PROGRAMS = {
    ("edgeloop",): "edgeloop",
    ("python", "-m", "edgeloop.cli"): "edgeloop",
    ("python", "-m", "localdev.run"): "localdev.run",
}


def shell_commands(text: str) -> list[list[str]]:
    """Each command of the page's shell blocks and inline code, as words (comments, env prefixes dropped)."""
    lines = []
    for block in FENCE.findall(text):
        lines += block.replace("\\\n", " ").splitlines()
    outside = ANY_FENCE.sub("", text).replace("\n", " ")
    lines += INLINE.findall(outside)
    commands = []
    for line in (line for line in lines if "edgeloop" in line or "localdev.run" in line):
        words = shlex.split(line, comments=True)
        while words:
            end = words.index("&&") if "&&" in words else len(words)
            commands.append(words[:end])
            words = words[end + 1 :]
    return commands


def program_and_arguments(words: list[str]) -> tuple[str, list[str]] | None:
    words = [word for word in words if not re.fullmatch(r"[A-Za-z_]+=.*", word)]  # VAR=value prefixes
    if words and words[0].endswith("/edgeloop"):
        words = ["edgeloop", *words[1:]]
    if words and words[0].endswith("/python"):
        words = ["python", *words[1:]]
    for prefix, program in PROGRAMS.items():
        if tuple(words[: len(prefix)]) == prefix:
            return program, words[len(prefix) :]
    return None


def edgeloop_problem(arguments: list[str]) -> str | None:
    """None if the words name an existing command and only its options, else what is wrong."""
    # Typer's own click: a group is whatever has subcommands.
    command: Any = typer.main.get_command(app)
    path = ["edgeloop"]
    words = list(arguments)
    while hasattr(command, "commands") and words:
        name = words.pop(0)
        if name not in command.commands:
            return f"{' '.join(path)} has no command {name!r}"
        command, path = command.commands[name], [*path, name]
    if hasattr(command, "commands"):
        return f"{' '.join(path)} is a group, not a command"
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for word in words:
        option = word.strip("[]").split("=", 1)[0]  # [--label COLUMN]: optional, still an option
        if option.startswith("--") and option not in options:
            return f"{' '.join(path)} has no option {option}"
    return None


def named_commands() -> list[tuple[str, list[str]]]:
    found = [program_and_arguments(words) for words in shell_commands(DOC.read_text(encoding="utf-8"))]
    return [item for item in found if item is not None and item[1]]  # a bare program name: no command


def test_the_page_names_the_walk_s_commands() -> None:
    named = {" ".join(arguments[:2]) for program, arguments in named_commands() if program == "edgeloop"}
    walk = ("models init", "train --manifest-template", "models publish", "models promote", "models train")
    assert set(walk) | {"models rollback", "models keygen", "models submit"} <= named


def test_every_edgeloop_command_and_option_on_the_page_exists() -> None:
    problems = [
        f"{' '.join(arguments)}: {problem}"
        for program, arguments in named_commands()
        if program == "edgeloop" and (problem := edgeloop_problem(arguments))
    ]
    assert problems == []


def test_the_local_system_options_on_the_page_exist() -> None:
    runs = [arguments for program, arguments in named_commands() if program == "localdev.run"]
    assert runs
    for arguments in runs:
        parse_args(arguments)  # argparse exits on an unknown option


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["models", "frobnicate"], "edgeloop models has no command 'frobnicate'"),
        (["models", "init", "x", "--colour", "red"], "edgeloop models init has no option --colour"),
        (["models"], "edgeloop models is a group, not a command"),
    ],
)
def test_the_checker_refuses_what_does_not_exist(arguments: list[str], problem: str) -> None:
    assert edgeloop_problem(arguments) == problem
