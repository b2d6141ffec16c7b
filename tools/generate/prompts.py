"""Prompt templates. PhoGPT has no system role, so instructions and the numbered sources go in
the user turn; its chat template wraps that turn as `### Câu hỏi: ...\\n### Trả lời:`. Each is a
constant the run's context can override."""

from __future__ import annotations

ANSWER_FIELDS = ("sources", "question")  # what a request's answer_prompt may name
ANSWER_PROMPT = """Dựa vào các nguồn dưới đây, hãy trả lời câu hỏi bằng tiếng Việt, ngắn gọn và chính xác.
Chỉ dùng thông tin có trong các nguồn. Sau mỗi câu, ghi số nguồn đã dùng trong ngoặc vuông, ví dụ [1].
Nếu các nguồn không có thông tin để trả lời, hãy nói: "Tài liệu không đề cập đến điều này."

{sources}

Câu hỏi: {question}"""

STRICT_SUFFIX = """
Lưu ý: lần trả lời trước có câu không được nguồn xác nhận. Chỉ chép lại nội dung có trong nguồn,
không suy đoán, và ghi rõ số nguồn [n] sau mỗi câu."""

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
