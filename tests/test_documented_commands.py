"""Every `gan-zoo` command the documentation shows parses with today's CLI.

Users copy commands from the README, docs/*.md, the ledger, the configs' headers, the pretrained registry
(`gan-zoo pretrained NAME`) and the modules' usage lines; an option renamed in the
code but not in the text fails only when someone runs it. Each command is parsed, nothing runs: `fit` /
`validate` / `test` through LightningCLI's ``--print_config`` (the whole config resolved: config files, class
paths, every override), the other subcommands through their argparse parsers, stopped right after parsing.
Placeholders (CKPT, RUN, DIR, S, ...) become values of the right type first.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
import yaml

from gan_zoo.cli import main

ROOT = Path(__file__).resolve().parents[1]
LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test")
OTHER_SUBCOMMANDS = ("export", "sample", "evaluate", "reproduce", "pretrained")

# Placeholders the docs use, by what they stand for. Integers where an option takes one; paths need not exist
# (parsing reads only --config files).
PLACEHOLDERS = {
    "S": "0", "N": "1", "K": "1", "CKPT": "run/last.ckpt", "DIR": "data", "PATH": "run/last.ckpt",
    "CONFIG": "configs/dcgan/digits.yaml", "NAME": "dcgan-mnist", "D": "mnist", "PRETRAINED": "dcgan-mnist",
}


def _commands_in_markdown(text: str) -> list[str]:
    """`gan-zoo ...` commands of fenced shell blocks (continuation lines joined, comments dropped) and of inline
    code spans outside the fences (which may wrap across lines)."""
    found, prose, shell, fence = [], [], [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if fence is None:
                fence = line[3:].strip()
            else:
                if fence in ("bash", "sh", "console", ""):  # unlabelled blocks: only their gan-zoo lines count
                    shell.append("\n".join(block))
                fence = None
            block = []
            continue
        (prose if fence is None else block).append(line)
    for code in shell:
        for line in code.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("gan-zoo "):
                found.append(line)
    for span in re.findall(r"`([^`]+)`", "\n".join(prose)):
        span = " ".join(span.split())
        if span.startswith("gan-zoo "):
            found.append(span)
    return found


def _commands_in_configs() -> list[str]:
    """`gan-zoo ...` lines of the configs' header comments (`#   gan-zoo fit --config ...`)."""
    found = []
    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        for line in path.read_text().splitlines():
            comment = line.strip().lstrip("#").strip()
            if line.lstrip().startswith("#") and comment.startswith("gan-zoo "):
                command = re.split(r" # |\s{2,}\(", comment, maxsplit=1)[0]  # a trailing remark: "  (or set ...)"
                found.append(command.replace("[", "").replace("]", "").strip())  # "[--opt v]": optional, parsed too
    return found


def _commands_in_ledger() -> list[str]:
    ledger = yaml.safe_load((ROOT / "docs" / "results.yaml").read_text())
    found = []
    for entry in ledger["entries"]:
        for key in ("fit_command", "evaluate_command"):
            if key in entry:
                found.append(" ".join(str(entry[key]).split()))
    return found


def _commands_in_registry() -> list[str]:
    """The shipped generators' training / evaluation / CI commands (`gan-zoo pretrained NAME` prints them)."""
    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    registry = yaml.safe_load((ROOT / "gan_zoo" / "pretrained" / "registry.yaml").read_text())
    return [" ".join(text.split()) for text in strings(registry) if text.lstrip().startswith("gan-zoo ")]


def _commands_in_docstrings() -> list[str]:
    """Usage lines of the package's module docstrings (`    gan-zoo sample --pretrained ...`)."""
    found = []
    for path in sorted((ROOT / "gan_zoo").rglob("*.py")):
        text = path.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            if line.startswith("    gan-zoo "):
                command = line.strip().split(" # ", 1)[0].strip()
                found.append(" ".join(command.replace("[", "").replace("]", "").split()))
    return found


def documented_commands() -> list[tuple[str, str]]:
    """(where, command) for every documented command, each text once."""
    sources = [(path.relative_to(ROOT).as_posix(), _commands_in_markdown(path.read_text()))
               for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]]
    sources += [("configs/", _commands_in_configs()), ("docs/results.yaml", _commands_in_ledger()),
                ("gan_zoo/pretrained/registry.yaml", _commands_in_registry()), ("gan_zoo/", _commands_in_docstrings())]
    seen, out = set(), []
    for where, commands in sources:
        for command in commands:
            if command not in seen:
                seen.add(command)
                out.append((where, command))
    return out


def argv_of(command: str) -> list[str]:
    """The command's arguments after `gan-zoo`, placeholders replaced; a trailing shell redirection dropped."""
    words = shlex.split(command.split(" > ", 1)[0].split(" | ", 1)[0])
    assert words[0] == "gan-zoo"
    argv = []
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if eq and key.startswith("--"):
            argv.append(f"{key}={PLACEHOLDERS.get(value, value)}")
        else:
            argv.append(PLACEHOLDERS.get(word, word))
    return argv


class Parsed(Exception):
    """Raised in place of running a subcommand once its arguments parsed."""


def parse_only(argv: list[str], monkeypatch) -> None:
    """Parse ``gan-zoo ARGV`` without running it; a parse error raises (SystemExit 2 from the CLI)."""
    if argv[0] in LIGHTNING_SUBCOMMANDS:
        with contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as exit_info:
            main([*argv, "--print_config"])
        assert exit_info.value.code in (0, None), f"exit status {exit_info.value.code}"
        return
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        original(self, args, namespace)
        raise Parsed

    with monkeypatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
        with pytest.raises(Parsed):
            main(argv)


def runnable(argv: list[str]) -> bool:
    """Commands that continue a run from the files it wrote (`--config RUN/.../config.yaml`) need that run."""
    configs = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == "--config"]
    configs += [word.split("=", 1)[1] for word in argv if word.startswith("--config=")]
    return all((ROOT / c).is_file() for c in configs)


COMMANDS = documented_commands()


def test_the_docs_show_commands_of_every_subcommand():
    subcommands = {argv_of(command)[0] for _, command in COMMANDS}
    assert set(LIGHTNING_SUBCOMMANDS[:1] + OTHER_SUBCOMMANDS) <= subcommands, subcommands
    assert len(COMMANDS) >= 80  # the collector still finds the commands (README, docs, ledger, configs)


@pytest.mark.parametrize("where, command", COMMANDS, ids=[f"{w}:{i}" for i, (w, _) in enumerate(COMMANDS)])
def test_documented_command_parses(where, command, monkeypatch):
    argv = argv_of(command)
    assert argv[0] in LIGHTNING_SUBCOMMANDS + OTHER_SUBCOMMANDS, f"{where}: unknown subcommand in {command!r}"
    if not runnable(argv):
        missing_config = f"{where}: a --config that does not exist: {command!r}"
        assert any("RUN" in word or "run/" in word for word in argv), missing_config
        return  # continues a run folder: its config.yaml exists only after that run
    if len(argv) == 1:
        return  # the subcommand named in prose ("`gan-zoo export` refuses ..."): known is all it can be
    if argv[0] == "evaluate" and not {"--ckpt", "--pretrained", "--samples"} & set(argv):
        argv += ["--ckpt", PLACEHOLDERS["CKPT"]]  # a protocol's text shows the scoring options, not the source
    monkeypatch.chdir(ROOT)
    try:
        parse_only(argv, monkeypatch)
    except BaseException as err:  # noqa: BLE001 - name the command, whatever went wrong
        raise AssertionError(f"{where}: {command!r} does not parse: {type(err).__name__}: {err}") from err
