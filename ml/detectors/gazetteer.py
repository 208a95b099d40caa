"""Locale-aware word lists from Faker's locale providers: person names, street words, company
words of every locale Faker ships (86 for names; Latin-script words only). Faker is already a
dependency and is data, not a model: nothing is downloaded, and lookups are set membership.

English spaCy finds PERSON in non-English prose and misses non-English names; these lists let
the detectors ask "is this token a first or last name somewhere?" in any of those languages.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import unicodedata
from functools import cache

import faker.providers.address as address_providers
import faker.providers.company as company_providers
import faker.providers.person as person_providers

NAME_ATTRS = (
    "first_names",
    "first_names_female",
    "first_names_male",
    "first_names_unisex",
    "last_names",
    "last_names_female",
    "last_names_male",
)
STREET_ATTRS = ("street_suffixes", "street_suffixes_long", "street_suffixes_short")
# Prefixes are street types only where a locale writes them as a word of their own
# ("Calle Mayor"); Finnish and Swedish prefixes are the first half of a glued name.
PREFIX_ATTRS = (
    "street_prefixes",
    "street_prefixes_feminine",
    "street_prefixes_masculine",
    "street_prefixes_feminine_short",
    "street_prefixes_masculine_short",
)
COMPANY_ATTRS = ("company_suffixes",)
# Words that are also common names somewhere but mostly something else in column values.
NOT_NAMES_WORDS = "street avenue road lane the and of de la le van von group"
NOT_NAMES = frozenset(NOT_NAMES_WORDS.split())
MIN_GLUED_SUFFIX = 3  # "straat", "gatan", "vej": street words written into the street's name
# Street words that are ordinary words of running text in some language.
AMBIGUOUS_WORDS = "day top end put run turn view well land link line part rest area so to"
AMBIGUOUS = frozenset(AMBIGUOUS_WORDS.split())


def fold(word: str) -> str:
    """Lower case without accents: ``Müller`` and ``muller`` meet."""
    text = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def _latin(word: str) -> bool:
    return all(c.isascii() or unicodedata.name(c, "").startswith("LATIN") for c in word)


def _collect(package: object, attrs: tuple[str, ...], when: str | None = None) -> set[str]:
    """Words under ``attrs`` of every locale's provider (only where ``when`` is in its
    street-name formats, if given)."""
    words: set[str] = set()
    for module in pkgutil.iter_modules(package.__path__):  # type: ignore[attr-defined]
        provider = importlib.import_module(f"{package.__name__}.{module.name}").Provider  # type: ignore[attr-defined]
        formats = " ".join(
            str(f)
            for attr in ("street_name_formats", "street_address_formats")
            for f in getattr(provider, attr, ())
        )
        if when and not re.search(when, formats):
            continue
        for attr in attrs:
            values = getattr(provider, attr, ())
            if isinstance(values, dict):
                values = values.keys()
            if not isinstance(values, list | tuple | set | frozenset | type({}.keys())):
                continue
            words.update(fold(w).strip(" .") for w in values if isinstance(w, str) and _latin(w))
    return {w for w in words if w}


@cache
def person_names() -> frozenset[str]:
    """First and last names of every Latin-script Faker locale, folded."""
    return frozenset(
        part
        for name in _collect(person_providers, NAME_ATTRS)
        for part in re.split(r"[\s-]+", name)
        if len(part) > 1 and part not in NOT_NAMES
    )


@cache
def street_words() -> frozenset[str]:
    """Street types written as a word of their own: ``calle``, ``via``, ``rue``, ``ulica``..."""
    found = _collect(address_providers, STREET_ATTRS) - {"street"}
    found |= _collect(address_providers, PREFIX_ATTRS, when=r"\{\{street_prefix\w*\}\} ")
    # English words, and the abbreviations Polish writes (ulica, aleja, plac, osiedle).
    english = {"street", "road", "avenue", "lane", "drive", "way", "court", "place", "st", "rd"}
    english |= {"ul", "al", "pl", "os"}
    return frozenset({w for w in found if " " not in w and len(w) > 1} | english) - AMBIGUOUS


@cache
def glued_street_suffixes() -> tuple[str, ...]:
    """Street types that languages glue onto a name (``Kerkstraat``, ``Storgatan``, ``-vej``)."""
    found = _collect(address_providers, STREET_ATTRS, when=r"\}\}\{\{street_suffix")
    return tuple(sorted(w for w in found if len(w) >= MIN_GLUED_SUFFIX and " " not in w))


@cache
def company_words() -> frozenset[str]:
    """Legal-form and company suffixes (``GmbH``, ``S.A.``, ``Sp. z o.o.``), folded."""
    found = _collect(company_providers, COMPANY_ATTRS)
    return frozenset(
        {w.replace(".", "") for phrase in found for w in phrase.split()}
        | {"and", "&", "und", "et", "y", "e", "en", "og", "och", "i", "group", "inc", "ltd"}
    )
