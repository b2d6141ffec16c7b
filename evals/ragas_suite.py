"""The Ragas suite. Metrics that need no LLM always run; with a judge (any LangChain chat model:
the generator's, or a separate one) the LLM metrics run too. ROUGE is left out: its default
tokenizer strips Vietnamese letters ("Hà Nội" -> "h", "n", "i"), and our own token F1 over
Vietnamese syllables measures the same thing correctly."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

NON_LLM = (
    "NonLLMContextPrecisionWithReference",
    "NonLLMContextRecall",
    "StringPresence",
    "ExactMatch",
    "NonLLMStringSimilarity",
    "ChrfScore",
    "BleuScore",
)
WITH_JUDGE = ("Faithfulness", "LLMContextPrecisionWithReference", "LLMContextRecall")
NEEDS_EMBEDDINGS = ("ResponseRelevancy",)


@dataclass
class RagasRow:
    question: str
    answer: str
    contexts: list[str]
    reference: str
    reference_contexts: list[str] = field(default_factory=list)


def run_ragas(
    rows: list[RagasRow],
    judge: Any | None = None,
    embeddings: Any | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """{"metrics": {name: mean}, "per_question": [{name: value}], "skipped": {name: why}}."""
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    from ragas import EvaluationDataset, MultiTurnSample, SingleTurnSample, evaluate
    from ragas import metrics as ragas_metrics
    from ragas.dataset_schema import EvaluationResult

    names = list(NON_LLM)
    skipped: dict[str, str] = {}
    if judge is not None:
        names += list(WITH_JUDGE)
        if embeddings is not None:
            names += list(NEEDS_EMBEDDINGS)
        else:
            skipped.update({n: "needs an embedding model (dense.model)" for n in NEEDS_EMBEDDINGS})
    else:
        skipped.update({n: "needs a judge LLM" for n in (*WITH_JUDGE, *NEEDS_EMBEDDINGS)})
    skipped["RougeScore"] = "its tokenizer strips Vietnamese letters; see answers.token_f1"
    samples: list[SingleTurnSample | MultiTurnSample] = [
        SingleTurnSample(
            user_input=r.question,
            response=r.answer,
            retrieved_contexts=r.contexts or [""],
            reference=r.reference,
            reference_contexts=r.reference_contexts or [r.reference],
        )
        for r in rows
    ]
    kwargs: dict[str, Any] = {"show_progress": progress, "raise_exceptions": False}
    if judge is not None:
        from ragas.llms import LangchainLLMWrapper

        kwargs["llm"] = LangchainLLMWrapper(judge)
    if embeddings is not None:
        from ragas.embeddings import LangchainEmbeddingsWrapper

        kwargs["embeddings"] = LangchainEmbeddingsWrapper(embeddings)
    metrics = [getattr(ragas_metrics, name)() for name in names]
    result = evaluate(EvaluationDataset(samples=samples), metrics=metrics, **kwargs)
    assert isinstance(result, EvaluationResult)  # an Executor only with return_executor=True
    frame = result.to_pandas()
    columns = [m.name for m in metrics]
    per_question = [
        {c: (None if _missing(row[c]) else round(float(row[c]), 4)) for c in columns}
        for _, row in frame.iterrows()
    ]
    means = {}
    for column in columns:
        values = [v for q in per_question if (v := q[column]) is not None]
        means[column] = round(sum(values) / len(values), 4) if values else None
    return {"metrics": means, "per_question": per_question, "skipped": skipped}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
