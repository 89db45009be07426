"""The shell classifier reads a line as bash does: write flags of sed and git, redirections,
substitutions, subshells, compound commands and heredocs (tree-sitter-bash, not word splitting)."""

from __future__ import annotations

import pytest

from asyncfc_tools import Effect
from asyncfc_tools._commands import command_effect, risky_options

READS = Effect("reads", (".",), unconfined=True)


@pytest.mark.parametrize("command", [
    # sed writes through -i anywhere, clustered, abbreviated, and through its scripts
    "sed -n 1p -i w.txt", "sed -ni 1p w.txt", "sed -n -i.bak 1p w.txt", "sed --in-place 1p w.txt",
    "sed --in 1p w.txt", "sed -n 1p -e 'w out.txt' in.txt", "sed -n '1w out.txt' in.txt",
    "sed -n '/x/W out.txt' in.txt", "sed 's/a/b/w out.txt' in.txt", "sed -e 's/a/b/gw out' in.txt",
    "sed 's/a/date/e' in.txt", "sed -n '1e date' in.txt", "sed -f script.sed in.txt",
    "sed --file=script.sed in.txt", "sed --expression='1w o' in.txt", "sed -n \"$X\" in.txt",
    "sed --frobnicate 1p in.txt",
    # git: pagers and outputs that run or write, global options that redirect it, aliases
    "git grep -Ovim foo", "git grep -O foo", "git grep -nO foo", "git grep --open-files-in-pager=vim foo",
    "git grep --open foo", "git diff --output=patch.txt", "git log --outp=x", "git diff --ext-diff",
    "git -c core.pager=sh status", "git -C ../other status", "git --git-dir=/tmp/x log",
    "git --work-tree=/tmp status", "git st", "git $(echo commit) -m x", "git -p log",
    # the parser sees redirections, substitutions and compounds
    "cat a.txt >> log.txt", "ls &> out.txt", "ls >& out.txt", "cat a | tee b.txt",
    "echo $(sed -i s/a/b/ x)", "ls <(rm -rf x)", "if true; then rm x; fi", "for f in *; do rm $f; done",
    "cat <<EOF\n$(rm x)\nEOF\n", "cat <<EOF > out.txt\nhi\nEOF\n", "f() { ls; }; f", "export A=1",
    "ls; rm x", "ls\nrm x", "{ ls; rm x; }", "$CMD status", "cat x &",
    # variables that make a reader run or read something else
    "GIT_EXTERNAL_DIFF=./evil git diff", "GIT_DIR=evil/.git git log", "PAGER=./evil git log",
    "GIT_PAGER=./evil git log", "LD_PRELOAD=./evil.so cat a", "PATH=.:$PATH ls", "BASH_ENV=x ls",
    # options that run a program, or change the machine
    "rg --pre ./evil x", "rg --pre=./evil --pre-glob '*' x", "sort -S1K --compress-program=./evil big",
    "date -s 2020-01-01", "date --set=tomorrow", "hostname evil",
    # read-only git subcommands given an option that writes a file or runs a driver
    "git log -p --output=notes.txt", "git show --outp=x HEAD", "git diff --textconv", "git log --ext",
    "git cat-file --filters HEAD:a.txt", "git show --textconv HEAD:a.bin", "git log --show-signature -1",
    # checks given an option that deletes, writes elsewhere or loads other code
    "pytest --basetemp=/home/me", "python -m pytest --junitxml=/etc/x.xml", "pytest -p evil_plugin",
    "pytest -pevil", "pytest -c other.ini", "pytest -o cache_dir=/x", "pytest --rootdir=/",
    "pytest --override-ini=addopts=-pevil", "pytest --pdbcls=evil:Pdb", "pytest --pastebin=all",
    "pytest --log-file=/x.log", "uv run pytest --debug=/x", "npm test --script-shell=./evil",
    "npm test --userconfig=./npmrc", "npm run test --node-options=--require=./x.js",
])
def test_writes_are_seen(command):
    assert command_effect(command).kind == "exclusive", command


@pytest.mark.parametrize("command", [
    "sed -n 10,20p a.py", "sed -n '/def /p' a.py", "sed -n -e 1p -e 's/a/b/p' a.py", "sed -E -n 's/(x)/y/gp' a.py",
    "sed -n '1{p;q}' a.py", "sed 's/w/e/' a.py", "git --no-pager grep -n foo", "git grep -e output",
    "git log -- --output", "echo $(git rev-parse HEAD)", "(cd src && ls)", "ls `pwd`",
    "if [[ -f a ]]; then cat a; else ls; fi", "for f in *.py; do wc -l \"$f\"; done",
    "cat <<'EOF'\nhi\nEOF\n", "grep x < a.txt", "cat a 2>/dev/null | head -3 >&2", "ls 2>&-",
    "! grep -q x a", "cat <<< hi", "diff <(ls a) <(ls b)", "LC_ALL=C sort a.txt", "TZ=UTC date",
    "rg -n TODO src", "date +%s", "hostname", "hostname -f",
    "git diff --no-textconv", "git log --no-ext-diff -p", "git diff --output-indicator-new=+",
    "git log -p -- --output=x",
    "git diff --text", "git rev-list --filter=blob:none HEAD",
])
def test_reads_stay_reads(command):
    assert command_effect(command) == READS, command


@pytest.mark.parametrize("command", ["pytest -q -x -k 'not slow'", "python -m pytest tests/ -vv --tb=short",
                                     "npm test", "npm test --silent", "uv run pytest -n 4",
                                     "pytest -p no:cacheprovider -pno:randomly",
                                     "pytest --cov=pkg --cov-report=term-missing", "pytest --cov-report term",
                                     "pytest -Werror -rfEc -ktest_op"])
def test_checks_with_harmless_options_stay_checks(command):
    assert command_effect(command).kind == "runs", command


@pytest.mark.parametrize(("command", "risky"), [
    ("pytest --cov-report=html:out", ["--cov-report=html:out"]), ("pytest --cov-report xml", ["--cov-report"]),
    ("pytest -vp evil", ["-vp"]), ("pytest -xc cfg.ini", ["-xc"]), ("git diff --te", ["--te"]),
    ("npm ls --glob", ["--glob"]), ("npm ls --global", []), ("pytest -Wp", []),
    ("git cat-file --text HEAD:a", ["--text"]), ("git cat-file --filter HEAD:a", ["--filter"]),
])
def test_risky_options_take_exact_names_and_values_as_the_program_does(command, risky):
    """An option's value glued to it (``-Werror``) and an exact option that begins a risky one
    (``git diff --text``, ``npm ls --global``) are no risky option; the rest still are."""
    assert risky_options(command.split()) == risky, command


def test_a_check_inside_a_subshell_is_still_a_check():
    assert command_effect("(cd sub && pytest -q) 2>&1 | tail -5") == Effect("runs", ("tests",), unconfined=True)
    assert command_effect("pytest $(cat args.txt)").kind == "exclusive"  # the arguments are unknown
