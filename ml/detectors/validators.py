"""Validators: checks that a value really is what its shape suggests (checksums, number plans).

Per-sample checks take one raw sample and answer with a bool; they never raise on odd input.
Identifiers of many countries come from ``python-stdnum`` (check digits, embedded dates,
number plans); phone numbers from ``phonenumbers`` (libphonenumber's metadata for every region).
"""

from __future__ import annotations

import importlib
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
from stdnum import iban as stdnum_iban

# (first digits low, high, lengths): issuer identification ranges of the card schemes.
# Maestro runs 12-19 digits, JCB 15 (the old 1800/2131 ranges) or 16-19, UnionPay 16-19.
CARD_RANGES: tuple[tuple[str, str, str, tuple[int, ...]], ...] = (
    ("Visa", "4", "4", (13, 16, 19)),
    ("Mastercard", "51", "55", (16,)),
    ("Mastercard", "2221", "2720", (16,)),
    ("American Express", "34", "34", (15,)),
    ("American Express", "37", "37", (15,)),
    ("Diners Club", "300", "305", (14, 16, 17, 18, 19)),
    ("Diners Club", "36", "36", (14, 15, 16, 17, 18, 19)),
    ("Diners Club", "38", "39", (14, 15, 16, 17, 18, 19)),
    ("Discover", "6011", "6011", (16, 17, 18, 19)),
    ("Discover", "644", "649", (16, 17, 18, 19)),
    ("Discover", "65", "65", (16, 17, 18, 19)),
    ("JCB", "3528", "3589", (16, 17, 18, 19)),
    ("JCB", "1800", "1800", (15,)),
    ("JCB", "2131", "2131", (15,)),
    ("UnionPay", "62", "62", (16, 17, 18, 19)),
    ("Maestro", "50", "50", tuple(range(12, 20))),
    ("Maestro", "56", "69", tuple(range(12, 20))),
    ("Mir", "2200", "2204", (16, 17, 18, 19)),
    ("Troy", "9792", "9792", (16,)),
)
IBAN_SHAPE = re.compile(r"^[A-Za-z]{2}\d{2}[ A-Za-z0-9]{10,}$")
SSN = re.compile(r"^(\d{3})-(\d{2})-(\d{4})$")
NINO = re.compile(r"^([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]$")
NINO_UNALLOCATED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN"})
EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-KXZ]{1,4})?$")
DATE_SHAPE = re.compile(
    r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y")
PHONE_REGIONS = ("US", "GB", "DE", "FR")  # for phones inside prose: cheap, possible-only
# Digits and separators that are dates, IPv4 addresses, SSNs or US EINs, not phone numbers.
NOT_PHONE = re.compile(
    r"^\d{1,4}([./-])\d{1,2}\1\d{1,4}$|^\d{1,3}(\.\d{1,3}){3}$|^\d{3}-\d{2}-\d{4}$|^\d{2}-\d{7}$"
)
PHONE_CHARS = " -+().x/"
PHONE_PROBE = 5  # national numbers that pick the column's region among NATIONAL_REGIONS
BARE_PHONE = 0.5  # bare digits valid in a plan: order numbers, ids and barcodes are bare digits too
# Numbers written with their country code are checked against every region's plan; numbers
# written nationally only against these (trying all 245 regions costs ~0.15 s per column).
NATIONAL_REGIONS = (
    "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "GB", "IE", "DE", "AT", "CH", "FR", "BE",
    "NL", "LU", "ES", "PT", "IT", "PL", "CZ", "SK", "HU", "RO", "BG", "GR", "SE", "NO", "DK",
    "FI", "EE", "LV", "LT", "SI", "HR", "TR", "UA", "IL", "ZA", "IN", "CN", "JP", "KR", "AU",
    "NZ",
)  # fmt: skip
IPV4_VERSION_LIKE = 31  # dotted quads whose parts all stay at or under this read like versions


def digits_of(value: str, allowed: str = " -") -> str | None:
    """The digits of a number written with optional separators, or None if anything else."""
    if any(not (ch.isdigit() or ch in allowed) for ch in value):
        return None
    return "".join(ch for ch in value if ch.isdigit())


def luhn(digits: str) -> bool:
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for pos, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if pos % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def card_brand(value: str) -> str | None:
    """The scheme whose issuer range and length fit a Luhn-valid number, else None."""
    digits = digits_of(value.strip())
    if not digits or not 12 <= len(digits) <= 19 or not luhn(digits):
        return None
    for brand, low, high, lengths in CARD_RANGES:
        head = digits[: len(low)]
        if low <= head <= high and len(digits) in lengths:
            return brand
    return None


def card_number(value: str) -> bool:
    return card_brand(value) is not None


def iban(value: str) -> bool:
    """Country code, the country's BBAN format and ISO 7064 mod-97 (python-stdnum)."""
    text = value.strip()
    return len(text) <= 42 and bool(IBAN_SHAPE.match(text)) and stdnum_iban.is_valid(text)


def us_ssn(value: str) -> bool:
    """AAA-GG-SSSS: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    m = SSN.match(value.strip())
    if not m:
        return False
    area, group, serial = m.groups()
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def uk_nino(value: str) -> bool:
    """UK National Insurance number; ZZ (used in examples and test data) counts as a shape."""
    m = NINO.match(value.strip().upper())
    return bool(m) and m.group(1) not in NINO_UNALLOCATED


@dataclass(frozen=True)
class IdScheme:
    """A national identifier or personal tax number: its name and its check."""

    name: str
    check: Callable[[str], bool]
    how: str = "python-stdnum"  # what the check is, as the evidence states it
    check_digit: bool = True  # False: shape and ranges only, shared with other numbers


def _stdnum(module: str) -> Callable[[str], bool]:
    mod = importlib.import_module(f"stdnum.{module}")

    def check(value: str) -> bool:
        try:
            return bool(mod.is_valid(value))
        except Exception:  # stdnum raises on some malformed input despite is_valid's contract
            return False

    return check


# stdnum checks the Danish CPR's embedded birth date only (its mod-11 digit was dropped in 2007).
WITHOUT_CHECK_DIGIT = {"dk.cpr": ("python-stdnum: birth date; no check digit", False)}
# Schemes with a check digit or a structure a random string rarely meets; stdnum's us.ssn
# accepts bare nine-digit numbers, so the dashed form is checked here instead.
ID_SCHEMES: tuple[IdScheme, ...] = (
    IdScheme("US SSN", us_ssn, "area, group and serial in range; no check digit", False),
    IdScheme("UK NINO", uk_nino, "allocated prefix; no check digit", False),
    *(
        IdScheme(name, _stdnum(module), *WITHOUT_CHECK_DIGIT.get(module, ()))
        for name, module in (
            ("French NIR", "fr.nir"),
            ("Spanish DNI/NIE", "es.nif"),
            ("Italian codice fiscale", "it.codicefiscale"),
            ("Dutch BSN", "nl.bsn"),
            ("Belgian national number", "be.nn"),
            ("German tax id (IdNr)", "de.idnr"),
            ("Austrian social security number", "at.vnr"),
            ("Swiss AHV number", "ch.ssn"),
            ("Portuguese NIF", "pt.nif"),
            ("Brazilian CPF", "br.cpf"),
            ("Polish PESEL", "pl.pesel"),
            ("Swedish personnummer", "se.personnummer"),
            ("Norwegian fodselsnummer", "no.fodselsnummer"),
            ("Danish CPR", "dk.cpr"),
            ("Finnish HETU", "fi.hetu"),
            ("Irish PPS", "ie.pps"),
            ("Czech/Slovak birth number", "cz.rc"),
            ("Romanian CNP", "ro.cnp"),
            ("Bulgarian EGN", "bg.egn"),
            ("Croatian OIB", "hr.oib"),
            ("Estonian isikukood", "ee.ik"),
            ("Lithuanian asmens kodas", "lt.asmens"),
            ("Greek AMKA", "gr.amka"),
            ("Turkish T.C. kimlik", "tr.tckimlik"),
            ("Mexican CURP", "mx.curp"),
            ("Chilean RUT", "cl.rut"),
            ("Canadian SIN", "ca.sin"),
            ("Chinese resident id", "cn.ric"),
            ("South African id", "za.idnr"),
            ("Indian Aadhaar", "in_.aadhaar"),
            ("Israeli id", "il.idnr"),
            ("Korean RRN", "kr.rrn"),
        )
    ),
)
# Identifier-like: digits, capitals and separators, at least five digits in all.
ID_SHAPE = re.compile(r"^(?=(?:\D*\d){5})[0-9A-Z][0-9A-Z .\-/]{5,22}$")
ID_PROBE = 5  # samples on which every scheme is tried; the rest only on the schemes that fit


def id_scheme(samples: Sequence[str]) -> IdScheme | None:
    """The identifier scheme most of the first samples satisfy (each scheme tried on a few)."""
    probe = [t for s in samples[:ID_PROBE] if ID_SHAPE.match(t := s.strip())]
    if len(probe) * 2 <= min(len(samples), ID_PROBE):
        return None
    best = max(ID_SCHEMES, key=lambda sch: sum(sch.check(s) for s in probe))
    return best if sum(best.check(s) for s in probe) * 2 > len(probe) else None


def national_id(value: str) -> bool:
    """Any known scheme (slow: tries them all); columns use ``id_scheme`` instead."""
    return any(s.check(value.strip()) for s in ID_SCHEMES)


def phone(value: str) -> float:
    """Phones inside prose: 1.0 for a possible number written as people write phones (``+``,
    separators, parentheses), 0.5 for bare digits: 10 or 11 of them, or led by a trunk prefix
    (barcodes and long ids are bare digits too, of other lengths)."""
    text = value.strip()
    digits = digits_of(text, " -+().x")
    if digits is None or not 7 <= len(digits) <= 20 or NOT_PHONE.match(text):
        return 0.0
    if text.isdigit() and not (text.startswith("0") or len(text) in (10, 11)):
        return 0.0
    for region in PHONE_REGIONS:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return BARE_PHONE if text.isdigit() else 1.0
    return 0.0


def phone_shaped(value: str) -> bool:
    text = value.strip()
    digits = digits_of(text.split("x")[0], PHONE_CHARS)
    return digits is not None and 7 <= len(digits) <= 15 and not NOT_PHONE.match(text)


def _valid_in(text: str, region: str | None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


def written_nationally(text: str) -> bool:
    """Without a country code, with a trunk prefix or separators: ``030 901820``, ``0301234567``."""
    return not text.startswith(("+", "00")) and (text.startswith(("0", "(")) or not text.isdigit())


def phone_region(samples: Sequence[str]) -> str | None:
    """The one region of ``NATIONAL_REGIONS`` whose number plan the column's numbers written
    nationally agree on: most of the first few valid there, and of the regions that take as
    many of those, the one that takes most of the rest. Any plan per number would accept
    nearly every 0-prefixed string (some plan or other takes each)."""
    national = [t for s in samples if phone_shaped(t := s.strip()) and written_nationally(t)]
    probe = national[:PHONE_PROBE]
    counts = {r: sum(_valid_in(t, r) for t in probe) for r in NATIONAL_REGIONS}
    best = max(counts.values())
    if best * 2 <= len(probe):
        return None
    tied = [r for r in NATIONAL_REGIONS if counts[r] == best]
    return max(tied, key=lambda r: sum(_valid_in(t, r) for t in national[PHONE_PROBE:]))


def valid_phone(value: str, region: str | None, bare_is_weak: bool = True) -> float:
    """1.0 for a number with its country code, or with a trunk prefix, valid in that country's
    plan (national ones in ``region``); 0.9 for one valid there written with separators only.
    Bare digits count 0.5 (``bare_is_weak``): order numbers and ids are bare digits too."""
    text = value.strip()
    if not phone_shaped(text):
        return 0.0
    plain = text.isdigit()
    text = text.replace("(0)", "")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _valid_in(text, None if text.startswith("+") else region):
        return 0.0
    if plain and bare_is_weak:
        return BARE_PHONE
    return 1.0 if text.startswith(("+", "0", "(0")) else 0.9


def ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


def version_like(samples: Sequence[str]) -> bool:
    """Dotted quads whose parts all stay small are software versions, not addresses."""
    parts = [
        int(p) for s in samples if s.count(".") == 3 for p in s.strip().split(".") if p.isdigit()
    ]
    return bool(parts) and max(parts) <= IPV4_VERSION_LIKE


def email(value: str) -> bool:
    return len(value) <= 254 and bool(EMAIL.match(value.strip()))


def icd10(value: str) -> bool:
    return bool(ICD10.match(value.strip().upper()))


def parse_date(value: str) -> date | None:
    """A calendar date, also from a timestamp at midnight; None for other times or text."""
    text = value.strip()
    if not DATE_SHAPE.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None or (parsed.hour, parsed.minute, parsed.second) != (0, 0, 0):
        return None
    return parsed.date()


def date_of_birth(value: str, today: date) -> bool:
    """A date at least a year and at most 120 years ago: when a living person was born."""
    born = parse_date(value)
    if born is None:
        return False
    days = (today - born).days
    return 365 <= days <= 120 * 365


BIRTH_YEARS_SPREAD = 10  # birth dates of a population span decades; event dates do not


def birth_dates_spread(samples: Sequence[str]) -> bool:
    """The column's dates span at least ten years, as a population's birth dates do."""
    years = [d.year for s in samples if (d := parse_date(s))]
    return len(years) >= 2 and max(years) - min(years) >= BIRTH_YEARS_SPREAD


def distinct_share(samples: Sequence[str]) -> float:
    return len(set(samples)) / max(1, len(samples))


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
