"""A law-shaped document written for this project (not a real law), and questions that each
name one clause: what `vinarag eval documents` and the tests ingest as .txt, .docx and .pdf."""

from __future__ import annotations

from dataclasses import dataclass

LAW_TEXT = """QUỐC HỘI
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Luật số: 99/2025/QH15
Hà Nội, ngày 12 tháng 6 năm 2025
LUẬT
VƯỜN CÂY ĐÔ THỊ
Căn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam;
Quốc hội ban hành Luật Vườn cây đô thị.
Chương I
NHỮNG QUY ĐỊNH CHUNG
Điều 1. Phạm vi điều chỉnh
Luật này quy định việc trồng, chăm sóc, bảo vệ và sử dụng vườn cây trong đô thị.
Điều 2. Giải thích từ ngữ
Trong Luật này, các từ ngữ dưới đây được hiểu như sau:
1. Vườn cây đô thị là khu đất trồng cây xanh do chính quyền thành phố quản lý và mở cho mọi người.
2. Cây di sản là cây có tuổi trên một trăm năm được Bộ Nông nghiệp công nhận bằng văn bản.
3. Người chăm sóc vườn là người được ban quản lý giao việc tưới, bón và cắt tỉa cây.
Chương II
CHĂM SÓC VÀ BẢO VỆ CÂY
Mục 1
CHĂM SÓC CÂY
Điều 3. Tưới cây và bón phân
1. Ban quản lý vườn tưới cây ít nhất hai lần mỗi tuần trong mùa khô.
2. Không ai được bón phân hóa học cho cây di sản khi chưa có ý kiến của chuyên gia thực vật.
3. Nước tưới lấy từ hồ chứa của vườn; khi hồ cạn, ban quản lý được dùng nước máy của thành phố.
Điều 4. Cắt tỉa cành
1. Việc cắt tỉa cành do thợ có chứng chỉ leo cây thực hiện.
2. Người dân được tự cắt cành trong các trường hợp sau đây:
a) cành gãy đe dọa an toàn người đi đường;
b) cành chạm vào đường dây điện sinh hoạt;
c) cành che khuất biển báo giao thông.
3. Cành cắt ra được phơi khô làm củi cho bếp ăn từ thiện của phường.
Mục 2
BẢO VỆ CÂY
Điều 5. Hành vi bị nghiêm cấm
1. Đóng đinh, treo biển quảng cáo lên thân cây.
2. Đốt rác, đổ dầu nhớt trong phạm vi năm mét quanh gốc cây.
3. Chặt hạ cây di sản dưới mọi hình thức.
Điều 6. Xử lý vi phạm
1. Người đóng đinh vào thân cây bị phạt tiền từ hai triệu đồng đến năm triệu đồng.
2. Tổ chức chặt hạ cây di sản bị phạt tiền từ năm mươi triệu đồng đến một trăm triệu
đồng và phải trồng lại mười cây cùng loài.
Chương III
SỬ DỤNG VƯỜN CÂY
Điều 7. Giờ mở cửa
1. Vườn mở cửa từ năm giờ sáng đến mười giờ tối hằng ngày.
2. Trong những ngày có bão, ban quản lý đóng cửa vườn và thông báo trên cổng thông tin của phường.
Điều 8. Phí và lệ phí
1. Người vào vườn không phải trả phí.
2. Phí gửi xe máy tại bãi xe của vườn là năm nghìn đồng một lượt.
Chương IV
ĐIỀU KHOẢN THI HÀNH
Điều 9. Hiệu lực thi hành
Luật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2026.
"""

LAW_LABEL = "Luật Vườn cây đô thị 2025 (99/2025/QH15)"


@dataclass(frozen=True)
class LawQuestion:
    question: str
    dieu: str
    khoan: str | None  # None: the article has no clauses
    answer: str  # a phrase the answer should quote


LAW_QUESTIONS = (
    LawQuestion("Vườn mở cửa từ mấy giờ sáng?", "7", "1", "năm giờ sáng"),
    LawQuestion("Phí gửi xe máy ở vườn là bao nhiêu?", "8", "2", "năm nghìn đồng"),
    LawQuestion("Người đóng đinh vào thân cây bị phạt bao nhiêu tiền?", "6", "1", "hai triệu đồng"),
    LawQuestion("Cây di sản là cây bao nhiêu tuổi?", "2", "2", "một trăm năm"),
    LawQuestion("Ban quản lý tưới cây mấy lần mỗi tuần trong mùa khô?", "3", "1", "hai lần"),
    LawQuestion("Khi hồ chứa cạn thì lấy nước tưới ở đâu?", "3", "3", "nước máy"),
    LawQuestion("Việc cắt tỉa cành do ai thực hiện?", "4", "1", "chứng chỉ leo cây"),
    LawQuestion("Cành cắt ra được dùng làm gì?", "4", "3", "làm củi"),
    LawQuestion("Luật này có hiệu lực từ ngày nào?", "9", None, "01 tháng 01 năm 2026"),
    LawQuestion("Đốt rác gần gốc cây trong phạm vi bao nhiêu mét bị cấm?", "5", "2", "năm mét"),
)


def _variant(number: str, date: str, name: str | None, rewrites: dict[str, str]) -> str:
    """The sample law under another number, date and name, some sentences written otherwise."""
    text = LAW_TEXT.replace("99/2025/QH15", number).replace("ngày 12 tháng 6 năm 2025", date)
    if name:
        text = text.replace("VƯỜN CÂY ĐÔ THỊ", name.upper()).replace("Vườn cây đô thị", name)
        text = text.replace("trong đô thị", "ở nông thôn")
    for sentence, other in rewrites.items():
        assert sentence in text, sentence
        text = text.replace(sentence, other)
    return text


# The rural law says what the sample law's questions ask in its own words: a question that names
# it must be answered from it, though the sample law's wording matches the question better.
_RURAL_WORDING = {
    "Vườn mở cửa từ năm giờ sáng đến mười giờ tối hằng ngày.": "Giờ đón khách của vườn bắt "
    "đầu lúc sáu giờ và kết thúc lúc chín giờ đêm.",
    "Phí gửi xe máy tại bãi xe của vườn là năm nghìn đồng một lượt.": "Mỗi lượt trông giữ xe "
    "gắn máy tại vườn thu ba nghìn đồng.",
    "Người đóng đinh vào thân cây bị phạt tiền từ hai triệu đồng đến năm triệu đồng.": "Hành vi "
    "đóng đinh lên cây bị xử phạt từ bốn triệu đồng đến sáu triệu đồng.",
    "Cây di sản là cây có tuổi trên một trăm năm được Bộ Nông nghiệp công nhận bằng văn bản.": (
        "Cây di sản là cây sống từ tám mươi năm trở lên, được Ủy ban nhân dân tỉnh công nhận."
    ),
    "Ban quản lý vườn tưới cây ít nhất hai lần mỗi tuần trong mùa khô.": "Vào mùa nắng hạn, cây "
    "được tưới tối thiểu ba lượt trong bảy ngày.",
    "Nước tưới lấy từ hồ chứa của vườn; khi hồ cạn, ban quản lý được dùng nước máy của thành "
    "phố.": "Nguồn nước tưới là giếng khoan của xã; nếu giếng khô thì bơm nước sông.",
    "Việc cắt tỉa cành do thợ có chứng chỉ leo cây thực hiện.": "Chỉ tổ tự quản của thôn được "
    "tỉa cành.",
    "Cành cắt ra được phơi khô làm củi cho bếp ăn từ thiện của phường.": "Cành tỉa xuống được "
    "băm nhỏ để ủ phân bón.",
    "Luật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2026.": "Luật này bắt đầu áp dụng "
    "kể từ ngày 01 tháng 7 năm 2026.",
    "Đốt rác, đổ dầu nhớt trong phạm vi năm mét quanh gốc cây.": "Đốt rơm rạ, đổ hóa chất "
    "cách gốc cây dưới mười mét.",
}


@dataclass(frozen=True)
class LawVersion:
    doc_id: str
    text: str
    cited_as: str  # how a question names it
    fine: str  # what Điều 6 khoản 1 says in this version


# Two versions of the sample law (told apart by number and year, and the fine of Điều 6 khoản 1)
# and another law on the same matters in its own words: what a question that names one of them
# must be answered from.
LAW_VERSIONS = (
    LawVersion("urban-2025", LAW_TEXT, "Luật Vườn cây đô thị năm 2025", "hai triệu đồng"),
    LawVersion(
        "urban-2019",
        _variant(
            "12/2019/QH14",
            "ngày 20 tháng 11 năm 2019",
            None,
            {
                "từ hai triệu đồng đến năm triệu đồng": "từ một triệu đồng đến ba triệu đồng",
                "từ ngày 01 tháng 01 năm 2026": "từ ngày 01 tháng 7 năm 2020",
            },
        ),
        "Luật Vườn cây đô thị năm 2019",
        "một triệu đồng",
    ),
    LawVersion(
        "rural",
        _variant("98/2025/QH15", "ngày 12 tháng 6 năm 2025", "Vườn cây nông thôn", _RURAL_WORDING),
        "Luật Vườn cây nông thôn",
        "bốn triệu đồng",
    ),
)


# The sample law again, passed but not in force until 2099 (its fine of Điều 6 khoản 1 raised):
# beside the 2019 and 2025 versions, the answer still comes from the 2025 one.
LAW_NOT_IN_FORCE = LawVersion(
    "urban-2099",
    _variant(
        "50/2026/QH15",
        "ngày 01 tháng 11 năm 2026",
        None,
        {
            "từ hai triệu đồng đến năm triệu đồng": "từ ba triệu đồng đến sáu triệu đồng",
            "từ ngày 01 tháng 01 năm 2026": "từ ngày 01 tháng 01 năm 2099",
        },
    ),
    "Luật Vườn cây đô thị số 50/2026/QH15",
    "ba triệu đồng",
)

# Questions either the urban or the rural law answers, as people ask them without saying which:
# what the graph should ask back about when both laws are in the knowledge base.
OPEN_QUESTIONS = (
    "Luật này có hiệu lực từ ngày nào?",
    "Hành vi nào bị nghiêm cấm?",
    "Phạm vi điều chỉnh của luật là gì?",
    "Cây di sản là gì?",
    "Mức phạt là bao nhiêu?",
    "Luật này quy định việc gì?",
)


# A law whose articles refer to each other ("trái với khoản 1 Điều 2", "theo mức quy định tại
# Điều 8", "trừ trường hợp quy định tại Điều 4"): the condition or the amount a question needs
# is in the article referred to. Written for this project.
LAW_WITH_REFERENCES = """QUỐC HỘI
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Luật số: 97/2025/QH15
Hà Nội, ngày 12 tháng 6 năm 2025
LUẬT
NUÔI ONG MẬT
Chương I
QUY ĐỊNH CHUNG
Điều 1. Phạm vi điều chỉnh
Luật này quy định việc nuôi ong mật, khai thác và bán mật ong.
Điều 2. Vị trí trại ong
1. Trại ong phải cách trường học và bệnh viện ít nhất ba trăm mét.
2. Mỗi trại ong không được đặt quá năm mươi thùng ong.
Điều 3. Đăng ký trại ong
Người nuôi ong đăng ký trại với Ủy ban nhân dân xã trước khi đặt thùng, trừ trường hợp quy định \
tại Điều 4.
Điều 4. Trại ong gia đình
Trại có dưới mười thùng ong lấy mật cho gia đình dùng thì được miễn thủ tục.
Điều 5. Phun thuốc trừ sâu gần trại ong
Người phun thuốc trừ sâu trong vòng một cây số quanh trại ong phải báo cho chủ trại trước hai ngày.
Chương II
XỬ LÝ VI PHẠM
Điều 6. Vi phạm về vị trí trại ong
Chủ trại đặt trại ong trái với khoản 1 Điều 2 bị xử phạt theo mức quy định tại Điều 8.
Điều 7. Làm chết ong
Người vi phạm Điều 5 mà làm chết ong thì phải bồi thường cho chủ trại.
Điều 8. Mức tiền
Mức tiền đối với vi phạm về vị trí trại ong là từ ba triệu đồng đến bảy triệu đồng.
Điều 9. Hiệu lực thi hành
Luật này có hiệu lực từ ngày 01 tháng 3 năm 2026.
"""


@dataclass(frozen=True)
class ReferenceQuestion:
    question: str
    dieu: str  # the article that answers
    referred: str  # the article it refers to, where the needed fact is
    fact: str  # that fact, as the referred article words it


REFERENCE_QUESTIONS = (
    ReferenceQuestion(
        "Chủ trại đặt trại ong sai vị trí bị xử phạt thế nào?", "6", "8", "ba triệu đồng"
    ),
    ReferenceQuestion(
        "Người nuôi ong có phải đăng ký trại ong với xã không?", "3", "4", "dưới mười thùng"
    ),
    ReferenceQuestion("Người làm chết ong phải bồi thường khi nào?", "7", "5", "báo cho chủ trại"),
)
