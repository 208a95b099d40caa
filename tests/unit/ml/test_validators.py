"""Validators: checksums and number plans at their edges."""

from __future__ import annotations

from datetime import date

import pytest

from ml.detectors import mask
from ml.detectors import validators as v


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("378282246310005", True),  # Amex, 15 digits
        ("4111111111111112", False),  # check digit off by one
        ("0000000000000000", False),  # Luhn-valid but no issuer starts with 0
        ("411111111111", False),  # 12 digits: too short
        ("41111111111111111111", False),  # 20 digits: too long
        ("4111a11111111111", False),
        ("", False),
    ],
)
def test_card_numbers(number: str, valid: bool) -> None:
    assert v.card_number(number) is valid


def test_luhn() -> None:
    assert v.luhn("79927398713")
    assert not v.luhn("79927398710")
    assert not v.luhn("7")


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("DE89 3704 0044 0532 0130 00", True),
        ("GB82WEST12345698765432", True),
        ("gb82 west 1234 5698 7654 32", True),  # case and spaces do not matter
        ("GB82WEST12345698765433", False),  # mod-97 fails
        ("DE89370400440532013", False),  # wrong length for DE
        ("XX00", False),
    ],
)
def test_ibans(iban: str, valid: bool) -> None:
    assert v.iban(iban) is valid


@pytest.mark.parametrize(
    ("ssn", "valid"),
    [
        ("536-22-1234", True),
        ("000-12-3456", False),  # area 000
        ("666-12-3456", False),  # area 666
        ("912-12-3456", False),  # area 9xx
        ("123-00-4567", False),  # group 00
        ("123-45-0000", False),  # serial 0000
        ("123456789", False),  # no dashes: too ambiguous to call an SSN
    ],
)
def test_us_ssn(ssn: str, valid: bool) -> None:
    assert v.us_ssn(ssn) is valid


def test_uk_nino_and_french_nir() -> None:
    assert v.uk_nino("AB 12 34 56 C")
    assert v.uk_nino("ab123456c")
    assert not v.uk_nino("GB123456A")  # unallocated prefix
    assert not v.uk_nino("DA123456A")  # D is never a first letter
    assert not v.uk_nino("AB123456E")  # suffix is A-D
    assert v.fr_nir("255081416802538")
    assert not v.fr_nir("255081416802539")
    corsica = "255082A001001"  # department 2A counts as 19 in the key
    assert v.fr_nir(corsica + str(97 - int("2550819001001") % 97).zfill(2))


@pytest.mark.parametrize(
    ("phone", "strength"),
    [
        ("+44 20 7946 0958", 1.0),
        ("(202) 555-0143", 1.0),
        ("06 56 31 70 66", 1.0),
        ("+1-639-851-2658x8378", 1.0),
        ("2025550143", 0.5),  # bare digits: could be any number
        ("12345", 0.0),
        ("call me", 0.0),
    ],
)
def test_phones(phone: str, strength: float) -> None:
    assert v.phone(phone) == strength


def test_ip_email_icd10() -> None:
    assert v.ip_address("192.168.0.1") and v.ip_address("2001:db8::1")
    assert not v.ip_address("256.1.1.1") and not v.ip_address("12345")
    assert v.email("ana.maria+tag@example.co.uk")
    assert not v.email("ana@localhost") and not v.email("not an email")
    assert v.icd10("E11.9") and v.icd10("s52.501a") and v.icd10("I10")
    assert not v.icd10("U07.1") and not v.icd10("E1") and not v.icd10("SKU-1")


def test_dates_of_birth() -> None:
    today = date(2026, 6, 1)
    assert v.date_of_birth("1980-02-29", today)
    assert v.date_of_birth("29/02/1980", today)
    assert v.date_of_birth("1980-02-29 00:00:00+00:00", today)  # MongoDB dates at midnight
    assert not v.date_of_birth("1980-02-29 13:45:00", today)  # a timestamp, not a birth date
    assert not v.date_of_birth("2026-03-01", today)  # less than a year ago
    assert not v.date_of_birth("1890-01-01", today)  # nobody alive was born then
    assert not v.date_of_birth("2027-01-01", today)
    assert not v.date_of_birth("1980-02-30", today)


def test_mask_keeps_shape_not_content() -> None:
    assert mask("4111111111111111") == "4**************1"
    assert mask("ana@example.com") == "a**@*******.**m"
    assert mask("abc") == "***"
