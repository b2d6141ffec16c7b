"""choose_version: a team keeps the old law beside the one that replaced it, or beside a
consolidated text; when the relevant sources come from several versions of one law, the answer
comes from the version in force (tools/kb/versions.py), or the one the question named, and
says that the others exist. The versions left out are named in the path and in the answer's
`notes`."""

from __future__ import annotations

from datetime import date
from typing import Any

from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import State, VersionChosen, VersionStep
from nodes.shared import named_documents, step
from tools.kb.versions import choose_versions
from tools.services import Services


def make_choose_version(services: Services):  # noqa: ARG001 (every node factory takes the services)
    def choose_version(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        relevant = state.get("relevant", [])
        choices = choose_versions(relevant, date.today(), named_documents(state))
        left_out = {v.doc_id for c in choices for v in (*c.older, *c.not_yet)}
        return {
            "relevant": [p for p in relevant if p["doc_id"] not in left_out],
            "notes": [*state.get("notes", []), *(c.notice() for c in choices)],
            "path": step(
                state,
                VersionStep(
                    node="choose_version",
                    laws=[
                        VersionChosen(
                            chosen=c.chosen.label,
                            in_force=c.current.label,
                            older=[v.label for v in c.older],
                            not_in_force=[v.label for v in c.not_yet],
                        )
                        for c in choices
                    ],
                ),
            ),
        }

    return choose_version
