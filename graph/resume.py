"""A run stopped on a question back (ask_which_law's interrupt) waits in its thread; the next
message there resumes it when it picks one of the options, and is a new question otherwise.
What the server, `vinarag ask --thread` and `vinarag chat` share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.pregel import Pregel
from langgraph.types import Command, Interrupt

from graph.state import Clarification
from tools.kb.ambiguity import chosen_option, clarification_text


def waiting(graph: Pregel[Any, Any, Any, Any], config: RunnableConfig) -> Clarification | None:
    """The clarification the config's thread is stopped on, if any."""
    interrupts = graph.get_state(config).interrupts
    return cast(Clarification, interrupts[0].value) if interrupts else None


def turn_input(
    graph: Pregel[Any, Any, Any, Any], input: dict[str, Any], config: RunnableConfig
) -> Any:
    """The run's input: Command(resume=...) for a message that picks a waiting option."""
    stopped = waiting(graph, config)
    labels = [o["label"] for o in stopped["options"]] if stopped else []
    if stopped and chosen_option(str(input.get("question", "")), labels) is not None:
        return Command(resume=input["question"])
    return input


def stopped_on(result: dict[str, Any]) -> Clarification | None:
    """The clarification a run's result stopped on (taken out of the result), if any."""
    interrupts: Sequence[Interrupt] = result.pop("__interrupt__", ())
    return cast(Clarification, dict(interrupts[0].value)) if interrupts else None


def as_text(clarification: Clarification) -> str:
    return clarification_text(
        clarification["question"], [o["label"] for o in clarification["options"]]
    )
