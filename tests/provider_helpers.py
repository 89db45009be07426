"""Helpers for the model-client tests over HTTP (not a test module): a fake sleep, a fixed-reply
policy, and a client pointed at a local server."""

from __future__ import annotations

import random

from asyncfc_cli.model.litellm_client import LiteLLMClient
from asyncfc_cli.testing.openai_server import Reply

KEY = "sk-asyncfc-test-7f3a9c2e51"
"""The key the clients send; tests check that it never appears in errors or output."""


def always(reply: Reply):
    """A server policy that answers every request with ``reply``."""
    return lambda messages, tools: reply


class Sleeps:
    """A fake sleep that records what the client asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def client_for(server, model: str = "openai/test-model", suffix: str = "/v1", **options) -> LiteLLMClient:
    """A client for ``server`` (``suffix`` completes its API base) with a fake sleep and seeded
    jitter unless ``options`` say otherwise."""
    options.setdefault("sleep", Sleeps())
    options.setdefault("rng", random.Random(0))
    return LiteLLMClient(model, api_base=server.base_url + suffix, api_key=KEY, **options)
