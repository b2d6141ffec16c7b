import unicodedata

import pytest

from tools.settings import IngestSettings
from tools.text.clean import clean_text
from tools.text.language import vietnamese_score
from tools.text.normalize import match_key, normalize, normalize_syllable
from tools.text.sentences import split_sentences
from tools.text.tokenize import bigrams, syllables


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("hoà", "hòa"),
        ("thuỷ", "thủy"),
        ("khoẻ", "khỏe"),
        ("Hoà Bình", "Hòa Bình"),
        ("Thuỵ Điển", "Thụy Điển"),
        ("loà xoà", "lòa xòa"),
        ("HOÀ", "HÒA"),
    ],
)
def test_old_and_new_tone_placement_match(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)
    assert match_key(a) == match_key(b.lower())


@pytest.mark.parametrize(
    "word",
    [
        "hoàng",
        "toán",
        "người",
        "thuở",
        "khuỷu",
        "mùa",
        "giếng",
        "quốc",
        "quý",
        "gì",
        "ngoài",
        "giữ",
    ],
)
def test_well_placed_tones_are_left_alone(word: str) -> None:
    assert normalize_syllable(word) == word


def test_decomposed_unicode_becomes_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Hà Nội mùa thu")
    assert decomposed != "Hà Nội mùa thu"
    assert normalize(decomposed) == "Hà Nội mùa thu"


def test_non_vietnamese_words_are_untouched() -> None:
    assert normalize("café naïve Zürich") == "café naïve Zürich"


def test_syllables_split_on_underscores_and_normalise() -> None:
    assert syllables("Super_Bowl_50 ở Thuỵ Điển") == ["super", "bowl", "50", "ở", "thụy", "điển"]
    assert bigrams(["hà", "nội", "đẹp"]) == ["hà_nội", "nội_đẹp"]


def test_sentences_respect_abbreviations_and_numbers() -> None:
    text = (
        "TP. Hồ Chí Minh có 8.993.082 người. Theo GS. Nguyễn Văn A, dân số tăng 3.5%! Còn Hà Nội?"
    )
    assert split_sentences(text) == [
        "TP. Hồ Chí Minh có 8.993.082 người.",
        "Theo GS. Nguyễn Văn A, dân số tăng 3.5%!",
        "Còn Hà Nội?",
    ]


def test_paragraph_break_ends_a_sentence() -> None:
    assert split_sentences("Tiêu đề\n\nNội dung chính") == ["Tiêu đề", "Nội dung chính"]


def test_language_check() -> None:
    threshold = IngestSettings().min_vietnamese_score
    assert (
        vietnamese_score("Hà Nội là thủ đô của nước Cộng hòa xã hội chủ nghĩa Việt Nam.")
        >= threshold
    )
    assert vietnamese_score("The capital of Vietnam is Hanoi, a city of lakes.") < 0.1
    assert vietnamese_score("Le château est très beau et la forêt aussi, même en été.") < threshold
    assert vietnamese_score("") == 0.0


def test_clean_text_removes_boilerplate_and_controls() -> None:
    raw = (
        "Tin tức\x00 hôm  nay\r\nTrang 3/10\nChia sẻ: Facebook\n\n\n\nNội dung   chính.\n"
        "© 2024 Báo ABC"
    )
    assert clean_text(raw) == "Tin tức hôm nay\n\nNội dung chính."


SEGMENT = """
import json, sys
from pathlib import Path
if sys.argv[1] == "with":
    import sklearn  # noqa: F401  (the usual load of pyvi's model)
from tools.demo import DEMO_DOCUMENTS
from tools.text.tokenize import words
texts = [json.loads(line)["text"] for line in DEMO_DOCUMENTS.open()]
print(json.dumps({"sklearn": "sklearn" in sys.modules, "words": [words(t) for t in texts]}))
"""


@pytest.mark.slow
def test_pyvi_segments_the_same_without_loading_scikit_learn():
    """pyvi's model is loaded with scikit-learn held back (a second off every search command):
    the segmentation must be exactly what the usual load gives. Separate processes, because what
    is tested is what a process has imported."""
    import json
    import subprocess
    import sys

    runs = {
        how: json.loads(
            subprocess.run(
                [sys.executable, "-c", SEGMENT, how],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            ).stdout
        )
        for how in ("with", "without")
    }
    assert runs["with"]["sklearn"] and not runs["without"]["sklearn"]
    assert runs["with"]["words"] == runs["without"]["words"]
    assert any("_" in w for ws in runs["without"]["words"] for w in ws)  # compounds joined
