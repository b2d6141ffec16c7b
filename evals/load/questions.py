"""The questions the load benchmarks ask: the demo knowledge base answers each."""

QUESTIONS = [
    "Ai dời đô về Thăng Long?",
    "Phở ra đời ở đâu?",
    "Truyện Kiều có bao nhiêu câu thơ?",
    "Vịnh Hạ Long có bao nhiêu hòn đảo?",
    "Ngô Bảo Châu nhận Huy chương Fields năm nào?",
    "Việt Nam có bao nhiêu dân tộc?",
]
