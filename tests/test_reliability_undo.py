"""Undo takes back what the session did and nothing else: files the user created after the session
stay, and a commit an agent made with ``git add -A && git commit`` (sweeping the user's staged and
untracked work into it) is taken back, with the user's staging as it was."""

from __future__ import annotations

import pytest
import trio

from asyncfc_cli.approval import ApprovalGate
from asyncfc_cli.checkpoint import create_checkpoint, list_checkpoints, record_end, undo
from asyncfc_cli.events import EventBus, SessionFinished
from asyncfc_cli.scheduler import GateRequest
from asyncfc_cli.tool_commands import undo_command
from asyncfc_tools import builtin_tools
from asyncfc_tools.files import write_file
from asyncfc_tools.shell import shell
from tools_repo import context, git, make_repo, write_files

AGENT_COMMIT = ("git -c user.name=agent -c user.email=agent@example.invalid add -A && "
                "git -c user.name=agent -c user.email=agent@example.invalid commit -q -m 'agent work'")


@pytest.fixture
def repo(tmp_path):
    """A repository where the user has work in progress: staged, unstaged and untracked."""
    root = make_repo(tmp_path / "repo", {"app.py": "x = 1\n", "README.md": "# readme\n"})
    write_files(root, {"staged.txt": "staged by me\n", "notes.txt": "untracked, mine\n"})
    git(root, "add", "staged.txt")
    (root / "app.py").write_text("x = 2  # my unstaged edit\n")
    return root


def status(root) -> str:
    return git(root, "status", "--porcelain")


def test_undo_removes_only_the_files_the_session_created(repo):
    checkpoint = create_checkpoint(repo, "s1")
    write_file.fn(context(repo), "generated.py", "y = 1\n")  # the session's file
    record_end(repo, checkpoint)
    (repo / "mine_later.txt").write_text("created after the session\n")  # the user's, afterwards
    (repo / "README.md").write_text("# edited after the session\n")
    report = undo(repo)
    assert report is not None and report.deleted == ("generated.py",) and report.restored == ()
    assert not (repo / "generated.py").exists()
    assert (repo / "mine_later.txt").read_text() == "created after the session\n"
    assert (repo / "README.md").read_text() == "# edited after the session\n"


def test_undo_never_deletes_through_a_folder_that_became_a_link_out_of_the_repository(repo, tmp_path):
    """The files to delete come from the recorded end; a folder on their path replaced by a link
    since (by a command, by anyone) must not lead undo out of the work tree."""
    checkpoint = create_checkpoint(repo, "s1")
    write_file.fn(context(repo), "d/precious", "the session's\n")
    record_end(repo, checkpoint)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("not the repository's\n")
    (repo / "d" / "precious").unlink()
    (repo / "d").rmdir()
    (repo / "d").symlink_to(victim)
    undo(repo)
    assert (victim / "precious").read_text() == "not the repository's\n"


@pytest.mark.trio
async def test_undo_takes_back_an_agent_commit_that_swept_the_users_work(repo):
    head, before = git(repo, "rev-parse", "HEAD").strip(), status(repo)
    checkpoint = create_checkpoint(repo, "s1")
    ctx = context(repo)
    write_file.fn(ctx, "feature.py", "def feature():\n    return 1\n")
    result = await shell.fn(ctx, AGENT_COMMIT)
    assert git(repo, "log", "-1", "--format=%s").strip() == "agent work", result
    swept = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(swept) == ["app.py", "feature.py", "notes.txt", "staged.txt"]  # the user's too
    agent_commit = git(repo, "rev-parse", "HEAD").strip()
    record_end(repo, checkpoint)

    report = undo(repo)
    assert report is not None and "commits were taken back" in report.git_restored
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert status(repo) == before  # staged, unstaged and untracked exactly as the user had them
    assert git(repo, "diff", "--cached", "--name-only").split() == ["staged.txt"]
    assert (repo / "app.py").read_text() == "x = 2  # my unstaged edit\n"
    assert not (repo / "feature.py").exists()
    # Nothing is lost: the agent's commit stays reachable from the saved ref.
    assert git(repo, "rev-parse", f"{report.saved_ref}^2").strip() == agent_commit
    text, code = undo_command(repo)
    assert code == 1  # used up


def test_a_commit_made_after_the_session_is_left_alone(repo):
    checkpoint = create_checkpoint(repo, "s1")
    write_file.fn(context(repo), "feature.py", "f = 1\n")
    record_end(repo, checkpoint)
    git(repo, "commit", "-q", "-m", "the user's own commit")  # commits what the user had staged
    report = undo(repo)
    assert report is not None and report.git_restored == "" and "HEAD moved" in report.head_note
    assert not (repo / "feature.py").exists()


@pytest.mark.trio
async def test_the_approval_gate_records_the_sessions_end_when_a_task_finishes(repo):
    bus = EventBus()
    gate = ApprovalGate("auto", bus, repo, session_id="s1")
    args = {"path": "new.txt", "content": "n\n"}
    effect = builtin_tools()["write_file"].effect_of(args, repo)
    await gate.admit(GateRequest("f1", builtin_tools()["write_file"], args, effect, context(repo)))
    write_file.fn(context(repo), "new.txt", "n\n")
    async with gate.recording_ends():  # what the engine keeps open while it serves
        bus.emit(SessionFinished, outcome="finished", exit_code=0)
    (repo / "later.txt").write_text("mine\n")
    [checkpoint] = list_checkpoints(repo)
    assert git(repo, "for-each-ref", "refs/asyncfc/ends/").strip()
    report = undo(repo)
    assert report is not None and report.checkpoint == checkpoint and report.deleted == ("new.txt",)
    assert (repo / "later.txt").exists()


@pytest.mark.trio
async def test_the_end_of_a_task_is_recorded_off_the_event_loop(repo):
    """git snapshots the whole tree at every task's end: that must never stall the event loop (the
    TUI's frames, other sessions' clocks) while it runs."""
    import threading

    ran_in = []

    def end(root, checkpoint):
        ran_in.append(threading.current_thread())
        record_end(root, checkpoint)

    bus = EventBus()
    gate = ApprovalGate("auto", bus, repo, session_id="s1", end=end)
    args = {"path": "new.txt", "content": "n\n"}
    effect = builtin_tools()["write_file"].effect_of(args, repo)
    await gate.admit(GateRequest("f1", builtin_tools()["write_file"], args, effect, context(repo)))
    async with gate.recording_ends():
        bus.emit(SessionFinished, outcome="finished", exit_code=0)
        assert ran_in == []  # the task's end went on at once; git runs in the background
    assert len(ran_in) == 1 and ran_in[0] is not threading.main_thread()
    assert git(repo, "for-each-ref", "refs/asyncfc/ends/").strip()


async def _admitted_write(repo, **options):
    bus = EventBus()
    gate = ApprovalGate("auto", bus, repo, session_id="s1", **options)
    args = {"path": "new.txt", "content": "n\n"}
    effect = builtin_tools()["write_file"].effect_of(args, repo)
    await gate.admit(GateRequest("f1", builtin_tools()["write_file"], args, effect, context(repo)))
    write_file.fn(context(repo), "new.txt", "n\n")
    return bus, gate


@pytest.mark.trio
async def test_a_session_cancelled_on_its_way_out_still_records_the_end_it_queued(repo):
    """Quitting the TUI cancels the session: the last task's end must still be recorded, or a
    later undo takes back the user's own edits."""
    bus, gate = await _admitted_write(repo)
    with trio.CancelScope() as scope:
        async with gate.recording_ends():
            bus.emit(SessionFinished, outcome="finished", exit_code=0)
            scope.cancel()
            await trio.sleep(1)
    assert git(repo, "for-each-ref", "refs/asyncfc/ends/").strip()
    assert gate.wait_ends_recorded(0)


@pytest.mark.trio
async def test_undo_can_wait_until_the_last_tasks_end_is_recorded(repo):
    import threading

    release = threading.Event()

    def slow_end(root, checkpoint):
        release.wait(10)
        record_end(root, checkpoint)

    bus, gate = await _admitted_write(repo, end=slow_end)
    async with gate.recording_ends():
        bus.emit(SessionFinished, outcome="finished", exit_code=0)
        assert not await trio.to_thread.run_sync(gate.wait_ends_recorded, 0.05)
        release.set()
        assert await trio.to_thread.run_sync(gate.wait_ends_recorded, 10)
