"""Prompt templates. PhoGPT has no system role, so instructions and the numbered sources go in
the user turn; its chat template wraps that turn as `### Câu hỏi: ...\\n### Trả lời:`. Each is a
constant the run's context can override."""

from __future__ import annotations

from collections.abc import Sequence

from tools.kb.results import Passage

ANSWER_FIELDS = ("sources", "question")  # what a request's answer_prompt may name
ANSWER_PROMPT = """Dựa vào các nguồn dưới đây, hãy trả lời câu hỏi bằng tiếng Việt, ngắn gọn và chính xác.
Chỉ dùng thông tin có trong các nguồn. Sau mỗi câu, ghi số nguồn đã dùng trong ngoặc vuông, ví dụ [1].
Nếu các nguồn không có thông tin để trả lời, hãy nói: "Tài liệu không đề cập đến điều này."

{sources}

Câu hỏi: {question}"""

STRICT_SUFFIX = """
Lưu ý: lần trả lời trước có câu không được nguồn xác nhận. Chỉ chép lại nội dung có trong nguồn,
không suy đoán, và ghi rõ số nguồn [n] sau mỗi câu."""

CONDENSE_PROMPT = """Dựa vào đoạn hội thoại, hãy viết lại câu hỏi cuối thành một câu hỏi đầy đủ, tự hiểu được
mà không cần hội thoại. Chỉ trả về câu hỏi đã viết lại.

{history}

Câu hỏi cuối: {question}"""

REWRITE_PROMPT = """Câu hỏi dưới đây không tìm được tài liệu liên quan. Hãy viết lại thành một truy vấn tìm kiếm
ngắn bằng tiếng Việt, giữ các từ khóa chính, thêm từ đồng nghĩa nếu có. Chỉ trả về truy vấn.

Câu hỏi: {question}"""

GRADE_RELEVANCE_PROMPT = """Với mỗi đoạn văn dưới đây, cho biết đoạn đó có chứa thông tin giúp trả lời câu hỏi không.
Trả về JSON dạng {{"relevant": [true, false, ...]}}, mỗi giá trị ứng với một đoạn theo thứ tự.

Câu hỏi: {question}

{sources}"""

GRADE_GROUNDING_PROMPT = """Câu trả lời dưới đây có được các nguồn xác nhận hoàn toàn không?
Trả về JSON dạng {{"grounded": true hoặc false, "unsupported_sentence": "câu không được xác nhận hoặc null"}}.

{sources}

Câu trả lời: {answer}"""

FALLBACK_ANSWER = (
    "Tài liệu hiện có không đề cập đến điều bạn hỏi, nên tôi không thể trả lời chắc chắn."
)
FALLBACK_FOUND = "Những đoạn gần nhất tìm được:"
# the generator failed (its server gone, a timeout): not the documents' fault, so say so
GENERATION_FAILED_ANSWER = (
    "Hiện không tạo được câu trả lời vì mô hình sinh văn bản gặp lỗi; bạn hãy thử lại sau."
)
GENERATION_FAILED_FOUND = "Những đoạn liên quan tìm được:"
# the question named a law the knowledge base does not hold: no answer from another law
LAW_NOT_HELD_ANSWER = (
    "Cơ sở tri thức không có {law}, nên tôi không trả lời câu này từ văn bản khác."
)
LAW_NOT_HELD_CLOSEST = "Các văn bản gần nhất đang có:"


def number_sources(sources: list[tuple[str, str]]) -> str:
    """[1] title: text ... for the prompt."""
    return "\n\n".join(f"[{i}] {title}: {text}" for i, (title, text) in enumerate(sources, start=1))


def numbered(passages: Sequence[Passage]) -> str:
    """The passages as the prompts number them (the markers answers cite)."""
    return number_sources([(p["title"], p["text"]) for p in passages])
