"""Validators: checks that a value really is what its shape suggests (checksums, number plans).

Each takes one raw sample and answers with a bool; they never raise on odd input.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from datetime import date, datetime

import phonenumbers

CARD_PREFIXES = re.compile(r"^(4|5[1-5]|2[2-7]|3[47]|3[068]|6011|65|64[4-9]|35|62|50|5[6-9]|6)")
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15,
    "PL": 28, "PT": 25, "SE": 24, "SI": 19, "SK": 24, "MC": 27, "LI": 21, "IS": 26, "EE": 20,
    "LT": 20, "LV": 21, "MT": 31, "CY": 28, "BG": 22, "RO": 24,
}  # fmt: skip
SSN = re.compile(r"^(\d{3})-(\d{2})-(\d{4})$")
NINO = re.compile(r"^([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]$")
NINO_UNALLOCATED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN"})
NIR = re.compile(r"^([1-478])(\d{2})(\d{2})(\d[\dAB])(\d{3})(\d{3})(\d{2})$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-KXZ]{1,4})?$")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d")
PHONE_REGIONS = ("US", "GB", "DE", "FR")
# Digits and separators that are dates, IPv4 addresses, SSNs or US EINs, not phone numbers.
NOT_PHONE = re.compile(
    r"^\d{1,4}([./-])\d{1,2}\1\d{1,4}$|^\d{1,3}(\.\d{1,3}){3}$|^\d{3}-\d{2}-\d{4}$|^\d{2}-\d{7}$"
)


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


def card_number(value: str) -> bool:
    """13 to 19 digits with a known issuer prefix and a valid Luhn check digit."""
    digits = digits_of(value.strip())
    return (
        bool(digits)
        and 13 <= len(digits) <= 19
        and bool(CARD_PREFIXES.match(digits))
        and luhn(digits)
    )


def iban(value: str) -> bool:
    """Country code, the country's length (where known) and ISO 7064 mod-97 == 1."""
    text = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", text):
        return False
    if IBAN_LENGTHS.get(text[:2], len(text)) != len(text):
        return False
    rearranged = text[4:] + text[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


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


def fr_nir(value: str) -> bool:
    """French social security number (NIR): 13 digits and a key of 97 - (number mod 97)."""
    text = value.replace(" ", "").upper()
    if not NIR.match(text):
        return False
    number = text[:13].replace("2A", "19").replace("2B", "18")
    return 97 - int(number) % 97 == int(text[13:])


def national_id(value: str) -> bool:
    return us_ssn(value) or uk_nino(value) or fr_nir(value)


def phone(value: str) -> float:
    """1.0 for a possible number written as people write phones, 0.5 for 10 or 11 bare digits
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
            formatted = text.startswith(("+", "0", "(")) or not text.isdigit()
            return 1.0 if formatted else 0.5
    return 0.0


def ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


def email(value: str) -> bool:
    return len(value) <= 254 and bool(EMAIL.match(value.strip()))


def icd10(value: str) -> bool:
    return bool(ICD10.match(value.strip().upper()))


def parse_date(value: str) -> date | None:
    """A calendar date, also from a timestamp at midnight; None for other times or text."""
    text = value.strip()
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


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
