"""Column-name heuristics: keyword phrases from the taxonomy found among the name's words.

``FirstName``, ``first_name`` and MongoDB's ``name.first`` all read as {first, name}. Words
that describe metadata about a value (``email_verified``, ``phone_count``, ``created_at``)
mean the column is not the value itself, so they cut the score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ml.detectors import ColumnEvidence, ColumnInput, Evidence
from ml.taxonomy import LabelDef

CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
MODIFIER_WORDS = (
    "id ids count type status flag is has verified valid enabled at ts length format version "
    "changed updated created masked mask encrypted last4 optin consent domain provider country "
    "confirmed"
)
MODIFIER_PENALTY = 0.2
FILLERS = frozenset({"of", "de", "di", "do", "da"})  # "date_of_birth", "data_di_nascita"
# Words naming a place: "place_of_birth" and "lieu_de_naissance" say where, not when.
PLACE_WORDS = "place lieu ort lugar luogo plaats miejsce sted paikka"
# Words saying a column holds dates or times, alone or ending a compound (``eintrittsdatum``,
# ``startdate``): the other words of such a name say what is dated (``hire_date``, ``fecha_alta``).
DATE_WORDS = "date dt day datum dato fecha data jour dia on at ts time timestamp datetime"
DATE_ENDINGS = ("datum", "dato", "date")
# "Birth" in the taxonomy's languages, also inside words no keyword spells (``geburtstag``,
# ``syntymapaiva``): such a name dates a birth, read as one or not.
BIRTH_STEMS = ("birth", "born", "geburt", "naiss", "nacim", "nasc", "geboort", "urodz", "fodel",
               "fodsel", "syntym", "dob")  # fmt: skip
# Words that name no event: ``date_value`` and ``dt_utc`` date nothing in particular.
UNNAMING_WORDS = "value val col column field raw iso utc local str text fmt orig new old tmp"
# Things, not people, that carry numbers and codes (``part_number``, ``sku``, ``artikelnummer``),
# in the taxonomy's languages.
THING_WORDS = (
    "part sku item product article serial model catalog catalogue stock inventory order invoice "
    "ticket tracking shipment parcel package batch lot asset device component material drawing "
    "revision ean upc gtin isbn barcode warehouse vehicle vin flight booking voucher coupon "
    "teil bauteil artikel produkt bestellung bestell rechnung lager charge geraet "
    "pieza articulo producto pedido factura lote piece produit commande facture "
    "pezzo articolo prodotto ordine fattura lotto onderdeel bestelling factuur "
    "peca artigo produto fatura czesc artykul zamowienie faktura partia"
)
NUMBER_ENDINGS = ("nummer", "number", "numero", "nr", "no", "num", "code", "id")
ABBREV_MIN = 2  # shorter tokens abbreviate too much
ABBREV_WEIGHT = 0.8  # an abbreviation reads less surely than the word
READS_AS = 0.5  # a name says what the column is, not something about it (phone_id reads 0.2)


def words(name: str) -> list[str]:
    """Lower-case ASCII words of a column name, singular where a trailing s is a plural."""
    text = unicodedata.normalize("NFKD", CAMEL.sub(" ", name)).encode("ascii", "ignore").decode()
    raw = [w for w in re.split(r"[^A-Za-z0-9]+", text.lower()) if w]
    return [w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w for w in raw]


MODIFIERS = frozenset(words(MODIFIER_WORDS))
PLACES = frozenset(words(PLACE_WORDS))
DATES = frozenset(words(DATE_WORDS))
UNNAMING = frozenset(words(UNNAMING_WORDS))
THINGS = frozenset(words(THING_WORDS))
UNNAMED = UNNAMING | FILLERS | DATES
UNABBREVIATED = MODIFIERS | FILLERS | THINGS  # whole words: ``part`` is no ``passport``


def _head(word: str, endings: tuple[str, ...]) -> str:
    """``eintritts`` of ``eintrittsdatum``, ``part`` of ``partno``: the word before an ending,
    if three letters or more are left; else the word itself (``update`` keeps its ``date``)."""
    for ending in endings:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def abbreviates(token: str, word: str) -> bool:
    """``addr`` for address (a prefix of three or more letters), ``psprt`` for passport, ``nm``
    for name: the letters in order, the same first and last sound, not much shorter."""
    if len(token) >= len(word):
        return False
    if len(token) >= 3 and word.startswith(token):
        return True
    if token[0] != word[0] or len(word) > 2.5 * len(token) + 1:
        return False
    if token[-1] != word[-1] and not (word[-1] == "e" and token[-1] == word[-2]):
        return False
    rest = iter(word[1:])
    return all(ch in rest for ch in token[1:])


class NameDetector:
    name = "name"

    def __init__(self, taxonomy: Sequence[LabelDef]):
        self.phrases = {
            label.name: [
                (frozenset(words(k)) - FILLERS, k.replace("_", ""), w)
                for k, w in label.keywords.items()
            ]
            for label in taxonomy
        }
        self.vocabulary = frozenset(
            word for phrases in self.phrases.values() for p, _, _ in phrases for word in p
        )

    def detect(self, columns: Sequence[ColumnInput]) -> list[ColumnEvidence]:
        return [self._column(c.name) for c in columns]

    def reads_as(self, name: str, label: str) -> bool:
        """The column's name says it holds ``label``: ``telefon``, ``tel_no``, not ``phone_id``."""
        found = self._column(name).get(label)
        return found is not None and found.score >= READS_AS

    def dates_another_event(self, name: str) -> str | None:
        """What a date column's name says it dates when that is not a birth: ``hire`` for
        ``hire_date``, ``created`` for ``created_on``, ``eintritts`` for ``eintrittsdatum``. None
        for a name that reads as a birth date, holds a word of birth, has no date word, or
        names nothing beside it (``date``, ``d_1``, ``date_value``)."""
        tokens = words(name)
        if any(stem in t for t in tokens for stem in BIRTH_STEMS):
            return None
        if self.reads_as(name, "PII.DateOfBirth"):
            return None
        heads = [_head(t, DATE_ENDINGS) for t in tokens if t not in DATES]
        dated = len(heads) < len(tokens) or any(h not in tokens for h in heads)
        named = [h for h in heads if len(h) >= 3 and h.isalpha() and h not in UNNAMED]
        return " ".join(named) if dated and named else None

    def names_a_thing(self, name: str) -> str | None:
        """The thing, not a person, whose number or code the name says the column holds:
        ``part`` for ``part_number``, ``sku``, ``artikel`` for ``artikelnummer``. None when the
        name reads as a national identifier (``ssn``, ``soc_sec_no``) or names no such thing."""
        if self.reads_as(name, "PII.NationalId"):
            return None
        for token in words(name):
            head = _head(token, NUMBER_ENDINGS)
            for thing in (token, head, head[:-1]):  # ``rechnungs``-nummer, ``teile``-nummer
                if thing in THINGS:
                    return thing
        return None

    def _expand(self, tokens: list[str]) -> set[str]:
        """The vocabulary words the name's tokens abbreviate (not metadata words like ``id``, nor
        fillers: the ``de`` of ``lieu_de_naissance`` is no ``date``, nor things: the ``part``
        of ``part_number`` is no ``passport``)."""
        return {
            word
            for t in tokens
            if len(t) >= ABBREV_MIN and t not in UNABBREVIATED and t not in self.vocabulary
            for word in self.vocabulary
            if abbreviates(t, word)
        }

    def _column(self, name: str) -> ColumnEvidence:
        tokens = words(name)
        present = set(tokens) | {"".join(tokens)}
        expanded = present | self._expand(tokens)
        matches = {}
        for label, phrases in self.phrases.items():
            hits = [
                (w * (1.0 if exact else ABBREV_WEIGHT), len(p), exact, k, p)
                for p, k, w in phrases
                for exact in (p <= present or k in present, False)
                if exact or p <= expanded
            ]
            if hits:
                matches[label] = max(hits, key=lambda h: (h[1], h[2], h[0]))
        # The most specific reading wins: "ip_address" is an IP address, not a postal one.
        longest = max((m[1] for m in matches.values()), default=0)
        found: ColumnEvidence = {}
        for label, (weight, n, exact, keyword, parts) in matches.items():
            # "place_of_birth": a word of the name matched, but the name is about a place.
            if n < longest or (set(tokens) - parts) & PLACES:
                continue
            # "national_id" is the id itself; "email_verified" is about an email.
            penalty = MODIFIER_PENALTY if (set(tokens) - parts) & MODIFIERS else 1.0
            reading = "reads as" if exact else "abbreviates"
            detail = f"column name {name!r} {reading} {keyword!r}"
            if penalty < 1:
                detail += " (qualified by a metadata word)"
            found[label] = Evidence(self.name, weight * penalty, detail, 1, 1)
        return found
