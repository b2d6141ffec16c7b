"""The prompts the LLM grader sends (`grader.kind: llm`): relevance, grounding, condensing a
follow-up, rewriting a query. The answer prompts are the generator's
(`tools/generate/prompts.py`)."""

from __future__ import annotations

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
