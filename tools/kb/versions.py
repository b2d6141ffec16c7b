"""Versions of one law side by side in a knowledge base: the old text and the one that replaced
it, a consolidated text ("văn bản hợp nhất"), an amending law. Each passage carries its
document's header as metadata (tools/ingest/legal.py: ngay, hieu_luc, thay_the, sua_doi,
hop_nhat), which is all it takes to tell which version is in force on a given day."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from tools.corpus.passages import Passage
from tools.text.law_names import law_key


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Version:
    """One document as a version of a law."""

    doc_id: str
    label: str  # "Luật Vườn cây đô thị 2025 (99/2025/QH15)"
    law: str  # law_key of the law it is a version of ("luat vuon cay do thi")
    number: str | None  # law_key of its số hiệu
    issued: date | None
    effective: date | None
    replaces: frozenset[str]  # law_key of the numbers it replaces
    amendment: bool  # it amends some articles of `law`; the law's own text still applies
    consolidated: bool

    @classmethod
    def of(cls, passage: Passage) -> Version | None:
        meta = passage["metadata"]
        kind, name, number = meta.get("loai"), meta.get("ten"), meta.get("so_hieu")
        if not kind or not name:
            return None
        amends = meta.get("sua_doi")
        return cls(
            doc_id=passage["doc_id"],
            label=str(meta.get("van_ban") or passage["title"]),
            law=law_key(str(amends) if amends else f"{kind} {name}"),
            number=law_key(str(number)) if number else None,
            issued=_date(meta.get("ngay")),
            effective=_date(meta.get("hieu_luc")),
            replaces=frozenset(law_key(str(n)) for n in meta.get("thay_the") or ()),
            amendment=bool(amends),
            consolidated=bool(meta.get("hop_nhat")),
        )

    @property
    def since(self) -> date | None:
        """From when it applies: its effective date, else its issue date."""
        return self.effective or self.issued

    def in_force(self, today: date) -> bool:
        return self.since is None or self.since <= today


@dataclass(frozen=True)
class VersionChoice:
    """Of several versions of one law among the sources: the one the answer comes from (the
    one in force, unless the question named another)."""

    chosen: Version
    current: Version  # the version in force
    older: tuple[Version, ...]  # older versions, left out of the sources
    not_yet: tuple[Version, ...]  # newer versions not in force yet, left out too
    amendments: tuple[Version, ...]  # amending laws kept beside it

    def notice(self) -> str:
        """What the answer says about the versions, in the reader's language."""
        since = self.chosen.since
        if self.chosen is self.current:
            parts = [
                f"Trả lời theo {self.chosen.label}"
                + (f", có hiệu lực từ {since:%d/%m/%Y}" if since else "")
                + ", văn bản mới nhất đang có hiệu lực trong cơ sở tri thức."
            ]
        else:
            current = self.current.since
            parts = [
                f"Trả lời theo {self.chosen.label} như câu hỏi nêu. Văn bản đang có hiệu lực là "
                f"{self.current.label}" + (f", từ {current:%d/%m/%Y}." if current else ".")
            ]
        if self.older:
            older = "; ".join(v.label for v in self.older)
            parts.append(f"Cơ sở tri thức còn có văn bản cũ hơn: {older}.")
        for version in self.not_yet:
            when = f" từ {version.since:%d/%m/%Y}" if version.since else ""
            parts.append(f"{version.label} sẽ có hiệu lực{when}.")
        if self.amendments:
            amended = "; ".join(v.label for v in self.amendments)
            parts.append(f"Văn bản sửa đổi, bổ sung: {amended}.")
        return " ".join(parts)


def _order(version: Version) -> tuple[date, bool]:
    """Newer first; on the same day, a consolidated text (it carries the amendments)."""
    return (version.since or date.min, version.consolidated)


def in_force(versions: Sequence[Version], today: date) -> Version:
    """Of one law's versions, the one that applies today: the newest whose date has come and
    that no other replaces (the newest of all when none has come)."""
    texts = sorted((v for v in versions if not v.amendment), key=_order, reverse=True)
    texts = texts or sorted(versions, key=_order, reverse=True)
    replaced = {n for v in texts for n in v.replaces}
    current = [v for v in texts if v.in_force(today) and v.number not in replaced]
    return (current or [v for v in texts if v.in_force(today)] or texts)[0]


def choose_versions(
    passages: Sequence[Passage], today: date, named: Collection[str] = ()
) -> list[VersionChoice]:
    """Each law that several versions among the passages belong to (by name, or because one
    replaces another's number), with the version the answer comes from: the one in force,
    unless the question named some of the versions (`named`: their doc ids), then the newest
    of those."""
    versions: dict[str, Version] = {}
    for passage in passages:
        if passage["doc_id"] not in versions and (v := Version.of(passage)) is not None:
            versions[passage["doc_id"]] = v
    family = {v.doc_id: v.law for v in versions.values()}
    by_number = {v.number: v.doc_id for v in versions.values() if v.number}
    for v in versions.values():  # a replaced law under another name joins its replacement's
        for number in v.replaces:
            if (old := by_number.get(number)) is not None:
                family = {d: v.law if law == family[old] else law for d, law in family.items()}
    choices: list[VersionChoice] = []
    for law in dict.fromkeys(family.values()):
        members = [versions[d] for d, f in family.items() if f == law]
        texts = [v for v in members if not v.amendment]
        if len(texts) < 2:
            continue
        current = in_force(texts, today)
        asked = [v for v in texts if v.doc_id in named]
        chosen = in_force(asked, today) if asked else current
        others = sorted((v for v in texts if v is not chosen), key=_order, reverse=True)
        choices.append(
            VersionChoice(
                chosen=chosen,
                current=current,
                older=tuple(v for v in others if v is not current and _order(v) <= _order(chosen)),
                not_yet=tuple(v for v in others if v is not current and _order(v) > _order(chosen)),
                amendments=tuple(v for v in members if v.amendment),
            )
        )
    return choices
