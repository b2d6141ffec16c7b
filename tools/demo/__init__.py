"""The bundled demo knowledge base (`vinarag demo`, `make run`): documents and the questions
the tests ask of them."""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
DEMO_DOCUMENTS = DEMO_DIR / "documents.jsonl"
DEMO_QUESTIONS = DEMO_DIR / "questions.jsonl"
