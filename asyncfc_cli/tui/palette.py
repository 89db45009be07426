"""The prompt's slash commands in Textual's command palette (Ctrl-P), beside its own commands.

Choosing one that takes nothing runs it; one that takes an argument (/model, /mode, /approval) is
put in the prompt with the completion menu open, for the argument.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .slash import COMMANDS, SlashCommand

__all__ = ["SlashCommandsProvider"]


class SlashCommandsProvider(Provider):
    """Offers ``/help``, ``/diff``... as palette commands."""

    def _choose(self, command: SlashCommand) -> None:
        self.app.choose_slash_command(command.name, takes_argument=bool(command.args))  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        for command in COMMANDS:
            yield DiscoveryHit(f"/{command.name}", partial(self._choose, command), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in COMMANDS:
            score = matcher.match(f"/{command.name} {command.help}")
            if score > 0 and query.strip().lstrip("/") == command.name:
                score *= 2  # the exact name first (/mode before /model)
            if score > 0:
                yield Hit(score, matcher.highlight(f"/{command.name}"), partial(self._choose, command),
                          text=f"/{command.name}", help=command.help)
