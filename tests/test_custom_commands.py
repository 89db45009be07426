"""Custom slash commands read from Markdown files: names, front matter, arguments, precedence, and
a repository's files read only where the file tools could read them."""

from __future__ import annotations

from pathlib import Path

from asyncfc_cli.custom_commands import expand, load_custom_commands, parse_command_file


def test_front_matter_gives_the_menu_line_and_arguments_fill_their_place() -> None:
    command = parse_command_file("fix-issue", "---\ndescription: Fix a GitHub issue\nargument-hint: NUMBER\n"
                                 "allowed-tools: shell\n---\nFix issue #$ARGUMENTS, then run the tests.\n", "user")
    assert (command.description, command.argument_hint) == ("Fix a GitHub issue", "NUMBER")
    assert expand(command, "123") == "Fix issue #123, then run the tests."
    plain = parse_command_file("explain", "# Explain the code\n\nExplain it simply.", "user")
    assert plain.description == "Explain the code"
    assert expand(plain, "") == "# Explain the code\n\nExplain it simply."
    assert expand(plain, "parse.py") == "# Explain the code\n\nExplain it simply.\n\nparse.py"
    assert parse_command_file("empty", "---\ndescription: nothing\n---\n  \n", "user") is None


def test_the_users_command_wins_and_built_in_names_are_kept(tmp_path: Path) -> None:
    user = tmp_path / "user"
    root = tmp_path / "repo"
    for folder in (user, root / ".asyncfc" / "commands", root / ".claude" / "commands"):
        folder.mkdir(parents=True)
    (user / "deploy.md").write_text("the user's deploy")
    (root / ".asyncfc" / "commands" / "deploy.md").write_text("the repository's deploy")
    (root / ".asyncfc" / "commands" / "help.md").write_text("shadows a built-in")
    (root / ".claude" / "commands" / "security.md").write_text("review for security")
    (root / ".claude" / "commands" / "Bad Name.md").write_text("not a command name")
    found = load_custom_commands(user, root, reserved={"help"})
    assert list(found) == ["deploy", "security"]
    assert (found["deploy"].text, found["deploy"].source) == ("the user's deploy", "user")
    assert found["security"].source == "repository"


def test_a_repositorys_link_out_of_the_workspace_or_into_git_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text("[remote] token")
    commands = root / ".asyncfc" / "commands"
    commands.mkdir(parents=True)
    (commands / "leak.md").symlink_to(secret)
    (commands / "git.md").symlink_to(root / ".git" / "config")
    (commands / "ok.md").write_text("fine")
    assert list(load_custom_commands(None, root)) == ["ok"]
