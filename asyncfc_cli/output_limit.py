"""What the session does when the output limit cuts a model's reply: continue it, a few times, then
stop and say why. Pure wording and policy, no I/O; ``Session`` applies it."""

from __future__ import annotations

__all__ = ["MAX_CONTINUATIONS", "continuation_note", "stop_message"]

MAX_CONTINUATIONS = 2
"""Replies in a row the output limit may cut before the task stops (exit 1): each cut reply is
continued, and a model that cannot say what it means within the limit is told so instead."""


def continuation_note(limit: int, dropped_call: str) -> str:
    """The user message that asks the model to go on after a cut reply; ``dropped_call`` names the
    tool whose call the cut left unfinished (it was not run)."""
    dropped = (f" The {dropped_call} call you were writing when it was cut was not run: issue it again."
               if dropped_call else "")
    return (f"[Your reply was cut by the output limit ({limit} tokens).{dropped} Go on from where it "
            "was cut, in shorter pieces: write a large file in parts (write_file, then edit_file).]")


def stop_message(cuts: int, limit: int) -> str:
    """Why the task stopped after ``cuts`` cut replies in a row, and what to change."""
    return (f"stopped: the model's reply was cut by the output limit {cuts} times in a row "
            f"(max_output_tokens = {limit}); raise it with max_output_tokens in .asyncfc.toml or "
            "ASYNCFC_MAX_OUTPUT_TOKENS, or ask for smaller steps")
