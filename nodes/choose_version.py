"""choose_version: a team keeps the old law beside the one that replaced it, or beside a
consolidated text; when the relevant sources come from several versions of one law, the answer
comes from the version in force (tools/kb/versions.py), or the one the question named, and
says that the others exist. The versions left out are named in the path and in the answer's
`notes`. The versions are chosen where the sources were set (nodes/law_decision.py)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import NO_LAW_DECISION, State, VersionStep
from nodes.shared import step
from tools.services import Services


def make_choose_version(services: Services):  # noqa: ARG001 (every node factory takes the services)
    def choose_version(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        plan = state.get("law_decision", NO_LAW_DECISION)["versions"]
        if plan is None:  # the router only comes here with versions to choose
            return {}
        left_out = set(plan["left_out"])
        return {
            "relevant": [p for p in state.get("relevant", []) if p["doc_id"] not in left_out],
            "notes": [*state.get("notes", []), *plan["notes"]],
            # chosen: nothing is left to ask or choose (asking after a choice would change the
            # sources the choice was made from)
            "law_decision": NO_LAW_DECISION,
            "path": step(state, VersionStep(node="choose_version", laws=plan["laws"])),
        }

    return choose_version
