"""A scripted chat model for driving the graph's LLM branches in tests (a fake lives in the
tests, never in the product). It recognises which prompt it was given and answers from a
per-kind script; the last answer of a script repeats."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult


def prompt_kind(prompt: str) -> str:
    if '{"relevant"' in prompt:
        return "relevance"
    if '{"grounded"' in prompt:
        return "grounding"
    if "không tìm được tài liệu" in prompt:
        return "rewrite"
    if "Câu hỏi cuối" in prompt:
        return "condense"
    return "answer"


class ScriptedChatModel(BaseChatModel):
    scripts: dict[str, list[Any]]
    calls: list[tuple[str, str]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _reply(self, kind: str, prompt: str) -> str:
        script = self.scripts.get(kind) or ["ok"]
        item = script.pop(0) if len(script) > 1 else script[0]
        if kind == "relevance" and isinstance(item, bool):  # one verdict for every source
            count = len(re.findall(r"^\[\d+\] ", prompt, flags=re.MULTILINE))
            return json.dumps({"relevant": [item] * count})
        return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any):
        prompt = str(messages[-1].content)
        kind = prompt_kind(prompt)
        self.calls.append((kind, prompt))
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(self._reply(kind, prompt)))]
        )


class FakeJudge(BaseChatModel):
    """Answers Ragas' judge prompts with valid JSON, by the output schema each prompt names."""

    statement: str = "Hà Nội là thủ đô của Việt Nam."
    seen: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "fake-judge"

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any):
        prompt = str(messages[-1].content)
        replies = {
            '"title": "NLIStatementOutput"': {
                "statements": [
                    {"statement": self.statement, "reason": "in the context", "verdict": 1}
                ]
            },
            '"title": "StatementGeneratorOutput"': {"statements": [self.statement]},
            '"title": "ContextRecallClassification"': {
                "classifications": [
                    {"statement": self.statement, "reason": "found", "attributed": 1}
                ]
            },
            '"title": "ResponseRelevanceOutput"': {
                "question": "Thủ đô Việt Nam là gì?",
                "noncommittal": 0,
            },
            '"title": "Verification"': {"reason": "useful", "verdict": 1},
        }
        for marker, reply in replies.items():
            if marker in prompt:
                self.seen.append(marker.split('"')[-2])
                text = json.dumps(reply, ensure_ascii=False)
                break
        else:
            text = "{}"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])
