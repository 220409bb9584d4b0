"""Chat-model fixtures (import them by name): the fault simulator and a real local OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from interviewai.adapters.llm.openai_chat import OpenAiChatModel
from interviewai.simulators.local_llm import LocalLlmServer
from interviewai.simulators.openai_chat import OpenAiChatSimulator

SIM_KEY = "sim-test-key"


@pytest.fixture
async def llm_simulator() -> AsyncIterator[OpenAiChatSimulator]:
    """The chat-completions simulator on a free loopback port, requiring SIM_KEY."""
    async with OpenAiChatSimulator(api_key=SIM_KEY, retry_after_s=0.1) as sim:
        yield sim


def chat_model_for(
    sim: OpenAiChatSimulator, *, timeout_s: float = 5.0, api_key: str = SIM_KEY
) -> OpenAiChatModel:
    """A client pointed at the simulator (close it with ``aclose``)."""
    return OpenAiChatModel(sim.url, sim.model, api_key=api_key, timeout_s=timeout_s)


@pytest.fixture
async def sim_chat_model(llm_simulator: OpenAiChatSimulator) -> AsyncIterator[OpenAiChatModel]:
    """A client for `llm_simulator` with SIM_KEY and a 5 s deadline."""
    model = chat_model_for(llm_simulator)
    yield model
    await model.aclose()


@pytest.fixture(scope="session")
def local_llm() -> Iterator[LocalLlmServer]:
    """xllamacpp serving the packaged SmolLM2-135M-Instruct, started once per test session (about 1 s)."""
    with LocalLlmServer() as server:
        yield server


def chat_model_for_local(server: LocalLlmServer, *, timeout_s: float = 120.0) -> OpenAiChatModel:
    """A client for the local server; generous deadline because the machine's other tests share the CPU."""
    return OpenAiChatModel(server.url, server.model, api_key=server.api_key, timeout_s=timeout_s)
