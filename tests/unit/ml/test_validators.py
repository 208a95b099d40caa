"""Validators: checksums and number plans at their edges."""

from __future__ import annotations

import random
import string
from datetime import date

import pytest

from ml.detectors import mask
from ml.detectors import validators as v


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111 1111 1111 1111", True),
        ("5500 0055 5555 5559", True),
        ("4111-1111-1111-1111", True),
        ("378282246310005", True),  # Amex, 15 digits
        ("4111111111111112", False),  # check digit off by one
        ("0000000000000000", False),  # Luhn-valid but no issuer starts with 0
        ("411111111111", False),  # 12 digits: too short for Visa
        ("675936625853", True),  # Maestro, 12 digits
        ("6759649826438453", True),  # Maestro, 16 digits
        ("213144978690732", True),  # JCB, 15 digits (the 2131 range)
        ("180000000000002", True),  # JCB, 15 digits (the 1800 range)
        ("3530111333300000", True),  # JCB, 16 digits
        ("6212345678901265", True),  # UnionPay, 16 digits
        ("6212345678901234569", True),  # UnionPay, 19 digits
        ("2204000000000000", True),  # Mir
        ("9000000000000001", False),  # Luhn-valid, but no scheme issues 9
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
        ("NO93 8601 1117 947", True),  # 15 characters
        ("BR15 0000 0000 0000 1093 2840 814P 2", True),
        ("MT84MALT011000012345MTLCAST001S", True),
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
    assert v.national_id("255081416802538")  # French NIR
    assert not v.national_id("255081416802539")
    corsica = "255082A001001"  # department 2A counts as 19 in the key
    assert v.national_id(corsica + str(97 - int("2550819001001") % 97).zfill(2))


@pytest.mark.parametrize(
    ("samples", "scheme"),
    [
        (("12345678Z", "X1234567L", "Y8552535E"), "Spanish DNI/NIE"),
        (("RSSMRA85T10A562S", "VRCCCL47R16G698J", "BCCFRC15M25E852P"), "Italian codice fiscale"),
        (("111222333", "214035797", "382749066"), "Dutch BSN"),
        (("253.660.082-39", "18724467014", "25366008239"), "Brazilian CPF"),
        (("44051401359", "77082514178", "38071182590"), "Polish PESEL"),
        (("870803-6069", "961118-5829", "821203-2208"), "Swedish personnummer"),
        (("AB 12 34 56 C", "JG123456A", "NP654321D"), "UK NINO"),
        (("536-22-1234", "138-73-1034", "244-76-8917"), "US SSN"),
        (("172023201312126", "175091730037964", "255081416802538"), "French NIR"),
        (("756.3827.4906.50", "756.9217.0769.85", "7569217076985"), "Swiss AHV number"),
    ],
)
def test_national_identifiers_of_many_countries(samples: tuple[str, ...], scheme: str) -> None:
    found = v.id_scheme(samples)
    assert found is not None and found.name == scheme
    assert all(found.check(s) for s in samples)


def test_identifier_schemes_refuse_near_misses() -> None:
    assert v.id_scheme(("12345678A", "12345678B", "87654321C")) is None  # DNI letters wrong
    assert v.id_scheme(("ORD-12345678", "ORD-87654321", "ORD-11112222")) is None
    assert v.id_scheme(("Ana Lopez", "Jan de Vries", "Maria Rossi")) is None


@pytest.mark.parametrize(
    ("phone", "strength"),
    [
        ("+34 988 06 36 08", 1.0),  # Spain, with the country code
        ("0041 44 668 18 00", 1.0),  # Switzerland, 00 for +
        ("+49(0)8377835337", 1.0),  # Germany, with the (0) people write
        ("030 901820", 1.0),  # Berlin, national with its trunk prefix
        ("06 56 31 70 66", 1.0),  # France, national
        ("781 360 591", 0.9),  # Poland: separators but no trunk prefix
        ("+34 000 00 00 00", 0.0),  # not in Spain's plan
        ("1980-02-29", 0.0),
    ],
)
def test_valid_phones_of_any_region(phone: str, strength: float) -> None:
    assert v.valid_phone(phone, v.phone_region([phone])) == strength


def test_bare_digits_are_weak_phones() -> None:
    assert v.phone_region(["2025550143"]) is None  # bare digits do not pick a region
    assert v.valid_phone("2025550143", "US") == 0.5
    # A trunk prefix does not make bare digits a phone: order numbers start with 0 too.
    assert v.valid_phone("0301234567", "DE") == 0.5
    assert v.valid_phone("0049301234567", "DE") == 0.5
    assert v.valid_phone("030 1234567", "DE") == 1.0
    assert v.valid_phone("0301234567", "DE", bare_is_weak=False) == 1.0


def test_a_column_agrees_on_one_region() -> None:
    # Irish, French and South African plans all take the first five; the rest are French.
    french = ["0492807302", "01 46 86 56 90", "01 74 29 31 37", "0490847195", "0164613589"]
    french += ["02 77 00 75 32", "04 71 74 47 62"]
    assert v.phone_region(french) == "FR"
    assert v.phone_region(["2025550143", "12345678"]) is None


def test_random_zero_led_digits_are_no_phones() -> None:
    """Nearly every 0-prefixed string is valid in one plan or another; in the one region
    the column agrees on, a bare one still counts only half."""
    rng = random.Random(11)
    orders = ["0" + "".join(rng.choice(string.digits) for _ in range(10)) for _ in range(50)]
    region = v.phone_region(orders)
    assert max(v.valid_phone(o, region) for o in orders) <= 0.5


@pytest.mark.parametrize(
    ("phone", "strength"),
    [
        ("+44 20 7946 0958", 1.0),
        ("(202) 555-0143", 1.0),
        ("06 56 31 70 66", 1.0),
        ("+1-639-851-2658x8378", 1.0),
        ("2025550143", 0.5),  # bare digits: could be any number
        ("0301234567", 0.5),  # a trunk prefix, but bare: order numbers start with 0 too
        ("12345", 0.0),
        ("call me", 0.0),
    ],
)
def test_phones(phone: str, strength: float) -> None:
    assert v.phone(phone) == strength


def test_ip_email_icd10() -> None:
    assert v.ip_address("192.168.0.1") and v.ip_address("2001:db8::1")
    assert not v.ip_address("256.1.1.1") and not v.ip_address("12345")
    assert v.version_like(["4.5.4.1", "15.15.9.20", "1.0.0.0"])  # versions, not addresses
    assert not v.version_like(["10.0.0.1", "192.168.1.20"])
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
    assert v.birth_dates_spread(["1962-02-12", "1980-04-18", "1999-12-01"])
    assert not v.birth_dates_spread(["2024-02-12", "2025-04-18", "2025-12-01"])  # event dates


def test_mask_keeps_shape_not_content() -> None:
    assert mask("4111111111111111") == "4**************1"
    assert mask("ana@example.com") == "a**@*******.**m"
    assert mask("abc") == "***"
