"""Locust users for `vinarag eval load`. VINARAG_LOAD_MODE=hit asks the same few questions
(answered from the cache after the first time); miss makes every question new (the whole graph
runs), by appending a request number the documents do not contain. VINARAG_LOAD_ROUTE=v1 asks
through /v1/chat/completions instead of /rag/invoke."""

from __future__ import annotations

import itertools
import os
import random
from typing import Any

from locust import FastHttpUser, constant, task

from evals.load.questions import QUESTIONS

_counter = itertools.count()


class RagUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def ask(self) -> None:
        question = random.choice(QUESTIONS)
        if os.environ.get("VINARAG_LOAD_MODE", "hit") == "miss":
            question = f"{question} (lượt {os.getpid()}-{next(_counter)})"
        body: dict[str, Any]
        if os.environ.get("VINARAG_LOAD_ROUTE", "rag") == "v1":
            path, expect = "/v1/chat/completions", "choices"
            body = {"model": "vinarag", "messages": [{"role": "user", "content": question}]}
        else:
            path, expect, body = "/rag/invoke", "answer", {"input": {"question": question}}
        with self.client.post(path, json=body, name=path, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif expect not in response.text:
                response.failure("no answer in the response")
