"""Evidence first: values that pass a validator overwhelmingly decide, whatever the column is
called; names raise a confidence, never gate it; look-alikes stay unlabeled. The columns are
the cases an outside check found unlabeled (issue 15), in several languages."""

from __future__ import annotations

import random
import re
import string
from datetime import date

import phonenumbers
import pytest
from faker import Faker

from ml.classifier import Classifier, LabelScore
from ml.detectors import ColumnInput, Tier
from tests.ml_support import shared_classifier

SUGGESTED, REVIEW = 0.9, 0.5


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return shared_classifier()


def fake(locale: str, seed: int = 7) -> Faker:
    f = Faker(locale)
    f.seed_instance(seed)
    return f


def values(locale: str, make: str, n: int = 30) -> list[str]:
    f = fake(locale)
    return [str(getattr(f, make)()) for _ in range(n)]


def column(name: str, samples: list[str], table: str = "t") -> ColumnInput:
    return ColumnInput(
        f"urn:dw:column:s/d/s/{table}/{name}", name, "varchar", table, "", tuple(samples)
    )


def scores(classifier: Classifier, col: ColumnInput) -> dict[str, LabelScore]:
    return {s.label: s for s in classifier.score([col])[0]}


def confidence(classifier: Classifier, col: ColumnInput, label: str) -> float:
    found = scores(classifier, col).get(label)
    return found.confidence if found else 0.0


def test_valid_emails_decide_under_any_name(classifier: Classifier) -> None:
    emails = values("de_DE", "email", 50)
    score = scores(classifier, column("kontakt_x9", emails))["PII.Email"]
    assert score.confidence >= SUGGESTED and score.floor is Tier.SPECIFIC
    # The explanation shows what drove the score: each signal's share, then the floor.
    text = score.explanation("default:1")
    assert "pattern 1.00 +" in text and "values alone (specific validator)" in text
    assert "valid email address in 50/50 samples" in text
    signals = {s["signal"]: s for s in score.signals()}
    assert signals["pattern"]["score"] == 1.0 and "floor:specific" in signals
    # A name that says so adds; it is never needed.
    assert confidence(classifier, column("correo_electronico", emails), "PII.Email") >= (
        score.model_confidence
    )


@pytest.mark.parametrize(
    ("numbers", "brand"),
    [
        (["675936625853", "6759649826438453", "5018000000000009"], "Maestro 12-19 digits"),
        (["213144978690732", "180000000000002", "3530111333300000"], "JCB 15/16 digits"),
        (["6212345678901265", "6212345678901234569"], "UnionPay 16-19 digits"),
    ],
)
def test_maestro_jcb_and_unionpay_numbers_are_cards(
    classifier: Classifier, numbers: list[str], brand: str
) -> None:
    col = column("ref_a", numbers * 5)
    assert confidence(classifier, col, "PCI.CardNumber") >= SUGGESTED, brand


def test_dates_of_birth_need_no_name_but_a_name_helps(classifier: Classifier) -> None:
    f = fake("es_ES")
    born = [f.date_of_birth(minimum_age=18, maximum_age=90).strftime("%d/%m/%Y") for _ in range(50)]
    anonymous = scores(classifier, column("f_1", born))["PII.DateOfBirth"]
    assert anonymous.confidence >= REVIEW and anonymous.floor is Tier.STRICT
    assert confidence(classifier, column("fecha_nacimiento", born), "PII.DateOfBirth") >= SUGGESTED


def test_event_dates_are_not_birth_dates(classifier: Classifier) -> None:
    rng = random.Random(3)
    days = [date(2024, 1, 1).toordinal() + rng.randint(0, 700) for _ in range(50)]
    shipped = [date.fromordinal(d).isoformat() for d in days]
    assert confidence(classifier, column("f_2", shipped), "PII.DateOfBirth") < REVIEW


def test_handles_are_usernames_slugs_and_statuses_are_not(classifier: Classifier) -> None:
    handles = values("fr_FR", "user_name", 50)
    assert confidence(classifier, column("h_1", handles), "PII.Username") >= REVIEW
    assert confidence(classifier, column("nombre_usuario", handles), "PII.Username") >= SUGGESTED
    slugs = values("en_US", "slug", 50)
    statuses = [random.Random(i).choice(["pending", "paid", "shipped"]) for i in range(50)]
    assert confidence(classifier, column("h_2", slugs), "PII.Username") < REVIEW
    assert confidence(classifier, column("h_3", statuses), "PII.Username") < REVIEW


@pytest.mark.parametrize(
    ("locale", "name"),
    [("es_ES", "nombre_completo"), ("pl_PL", "imie_nazwisko"), ("it_IT", "nominativo"),
     ("sv_SE", "kund_namn"), ("nl_NL", "naam")],
)  # fmt: skip
def test_person_names_in_other_languages(classifier: Classifier, locale: str, name: str) -> None:
    people = values(locale, "name")
    anonymous = scores(classifier, column("c_7", people))["PII.PersonName"]
    assert anonymous.confidence >= REVIEW
    ner = next(e for e in anonymous.evidence if e.detector == "ner")
    assert ner.hits >= 0.9 * ner.total  # names of the locale, found without English spaCy's help
    assert confidence(classifier, column(name, people), "PII.PersonName") >= SUGGESTED


def test_company_names_are_not_people(classifier: Classifier) -> None:
    companies = values("de_DE", "company")
    assert confidence(classifier, column("c_8", companies), "PII.PersonName") < REVIEW


@pytest.mark.parametrize("locale", ["fr_FR", "pl_PL", "it_IT", "nl_NL"])
def test_plain_prose_in_other_languages_mentions_nobody(
    classifier: Classifier, locale: str
) -> None:
    f = fake(locale)
    prose = [f.paragraph(nb_sentences=2) for _ in range(30)]
    assert confidence(classifier, column("description", prose), "PII.FreeText") < REVIEW


@pytest.mark.parametrize(
    ("locale", "name"),
    [("es_ES", "direccion"), ("pl_PL", "adres"), ("nl_NL", "adres"), ("sv_SE", "adress"),
     ("it_IT", "indirizzo"), ("de_DE", "anschrift")],
)  # fmt: skip
def test_postal_addresses_in_other_languages(
    classifier: Classifier, locale: str, name: str
) -> None:
    f = fake(locale)
    addresses = [f.address().replace("\n", ", ") for _ in range(30)]
    assert confidence(classifier, column("a_1", addresses), "PII.PostalAddress") >= REVIEW
    assert confidence(classifier, column(name, addresses), "PII.PostalAddress") >= SUGGESTED


@pytest.mark.parametrize(
    ("locale", "make"),
    [("es_ES", "nif"), ("it_IT", "ssn"), ("nl_NL", "ssn"), ("pt_BR", "cpf"),
     ("pl_PL", "pesel"), ("sv_SE", "ssn"), ("fr_FR", "ssn"), ("en_US", "ssn")],
)  # fmt: skip
def test_national_identifiers_decide_alone(classifier: Classifier, locale: str, make: str) -> None:
    ids = values(locale, make)
    found = scores(classifier, column("x_1", ids))
    assert found["PII.NationalId"].confidence >= SUGGESTED
    # A personnummer is also a valid phone number somewhere; it is not taken for one.
    assert found.get("PII.Phone") is None or found["PII.Phone"].confidence < REVIEW


def test_phones_of_many_regions(classifier: Classifier) -> None:
    # Faker draws some German, Italian or US numbers outside their plans; these locales' do not.
    for locale in ("es_ES", "fr_FR", "en_GB", "pl_PL"):
        phones = values(locale, "phone_number")
        assert confidence(classifier, column("p_1", phones), "PII.Phone") >= REVIEW, locale


def zero_led_digits(n: int = 50) -> list[str]:
    rng = random.Random(1)
    return ["0" + "".join(rng.choice(string.digits) for _ in range(10)) for _ in range(n)]


def french_numbers(n: int = 30) -> list[str]:
    """Valid French numbers as people write them: ``04 63 16 72 11``."""
    f, found = fake("fr_FR"), []
    while len(found) < n:
        number = phonenumbers.parse(f.phone_number(), "FR")
        if phonenumbers.is_valid_number(number):
            national = phonenumbers.PhoneNumberFormat.NATIONAL
            found.append(phonenumbers.format_number(number, national))
    return found


@pytest.mark.parametrize("name", ["bestellnummer", "invoice_no", "f_9"])
def test_zero_led_order_numbers_are_not_phones(classifier: Classifier, name: str) -> None:
    # One plan or another takes nearly every 0-prefixed string; bare digits count half.
    orders = column(name, zero_led_digits(), "orders")
    assert confidence(classifier, orders, "PII.Phone") < REVIEW


def test_written_phones_decide_bare_ones_need_a_name(classifier: Classifier) -> None:
    written = french_numbers()
    assert confidence(classifier, column("f_10", written), "PII.Phone") >= SUGGESTED
    bare = [re.sub(r"\D", "", n) for n in written]
    assert confidence(classifier, column("f_11", bare), "PII.Phone") < REVIEW
    for name in (
        "phone",
        "telefon",
        "téléphone",
        "teléfono",
        "mobile",
        "tel",
        "handynummer",
        "handy",
    ):
        assert confidence(classifier, column(name, bare), "PII.Phone") >= SUGGESTED, name
    assert confidence(classifier, column("phone_id", bare), "PII.Phone") < SUGGESTED
    # A few bare numbers among written ones are the same numbers without spaces.
    mixed = written[:20] + bare[20:]
    assert confidence(classifier, column("f_12", mixed), "PII.Phone") >= SUGGESTED


NOTES = {
    "de_DE": "Bitte {} wegen der offenen Rechnung zurückrufen",
    "fr_FR": "Rappeler {} au sujet de la facture impayée",
}


def notes(locale: str) -> list[str]:
    f = fake(locale)
    return [NOTES[locale].format(f"{f.first_name()} {f.last_name()}") for _ in range(20)]


@pytest.mark.parametrize(
    ("locale", "name"),
    [("de_DE", "note"), ("de_DE", "notiz"), ("de_DE", "anmerkung"), ("de_DE", "bemerkungen"),
     ("fr_FR", "note_client"), ("fr_FR", "commentaire"), ("fr_FR", "remarque")],
)  # fmt: skip
def test_notes_naming_people_in_other_languages(
    classifier: Classifier, locale: str, name: str
) -> None:
    assert confidence(classifier, column(name, notes(locale)), "PII.FreeText") >= REVIEW


def test_prose_naming_a_person_in_nearly_every_sample_needs_no_name(
    classifier: Classifier,
) -> None:
    score = scores(classifier, column("c_9", notes("fr_FR")))["PII.FreeText"]
    ner = next(e for e in score.evidence if e.detector == "ner")
    assert ner.hits >= 0.9 * ner.total
    assert score.floor is Tier.STRICT and REVIEW <= score.confidence < SUGGESTED


def test_addresses_on_streets_named_after_people_are_no_notes(classifier: Classifier) -> None:
    f = fake("fr_FR")
    streets = [f"{f.building_number()} rue {f.first_name()} {f.last_name()}" for _ in range(20)]
    assert confidence(classifier, column("c_10", streets), "PII.FreeText") < REVIEW


def test_ibans_and_ips_decide_version_strings_do_not(classifier: Classifier) -> None:
    ibans = [
        v for loc in ("de_DE", "es_ES", "it_IT", "nl_NL", "pl_PL") for v in values(loc, "iban", 6)
    ]
    assert confidence(classifier, column("k_1", ibans), "PCI.BankAccount") >= SUGGESTED
    ips = values("en_US", "ipv4_public")
    assert confidence(classifier, column("k_2", ips), "PII.IPAddress") >= SUGGESTED
    rng = random.Random(5)
    versions = [".".join(str(rng.randint(0, 20)) for _ in range(4)) for _ in range(30)]
    assert confidence(classifier, column("k_3", versions), "PII.IPAddress") < SUGGESTED


def test_few_samples_never_decide_alone(classifier: Classifier) -> None:
    two = column("k_4", ["ana@example.com", "jan@example.org"])
    score = scores(classifier, two)["PII.Email"]
    assert score.floor is None


def dates_between(first: date, last: date, n: int = 50, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    span = last.toordinal() - first.toordinal()
    return [
        date.fromordinal(first.toordinal() + rng.randint(0, span)).isoformat() for _ in range(n)
    ]


@pytest.mark.parametrize(
    "name",
    ["hire_date", "start_date", "created_on", "shipped_at", "hireDate", "fecha_alta",
     "eintrittsdatum", "date_embauche", "data_assunzione", "data_zatrudnienia"],
)  # fmt: skip
def test_dates_a_name_says_are_not_births_are_no_birth_dates(
    classifier: Classifier, name: str
) -> None:
    # Thirty-five years of hiring: dates 1-120 years ago spanning decades, like birth dates.
    hired = dates_between(date(1990, 1, 1), date(2024, 12, 31))
    score = scores(classifier, column(name, hired, "employees"))["PII.DateOfBirth"]
    assert score.confidence < REVIEW and score.floor is None, name
    assert "not alone: the column's name dates" in score.explanation("default:1")
    # The values alone could be births: under a name that says nothing they still go to review.
    assert confidence(classifier, column("d_1", hired, "employees"), "PII.DateOfBirth") >= REVIEW


@pytest.mark.parametrize(
    ("locale", "name"),
    [("en_US", "dob"), ("en_GB", "birth_date"), ("en_US", "dateOfBirth"),
     ("es_ES", "fecha_de_nacimiento"), ("de_DE", "geburtsdatum"), ("fr_FR", "date_naissance"),
     ("it_IT", "data_di_nascita"), ("nl_NL", "geboortedatum"), ("pl_PL", "data_urodzenia"),
     ("sv_SE", "fodelsedatum")],
)  # fmt: skip
def test_birth_dates_under_birth_names_in_several_languages(
    classifier: Classifier, locale: str, name: str
) -> None:
    f = fake(locale)
    born = [f.date_of_birth(minimum_age=18, maximum_age=90).isoformat() for _ in range(50)]
    score = scores(classifier, column(name, born, "customers"))["PII.DateOfBirth"]
    assert score.confidence >= SUGGESTED and score.floor is Tier.STRICT, name
    assert "not alone" not in score.explanation("default:1")


@pytest.mark.parametrize("name", ["geburtstag", "syntymapaiva", "birthday_date", "born_on"])
def test_a_word_of_birth_keeps_the_dates_deciding(classifier: Classifier, name: str) -> None:
    f = fake("de_DE")
    born = [f.date_of_birth(minimum_age=18, maximum_age=90).isoformat() for _ in range(50)]
    score = scores(classifier, column(name, born, "kunden"))["PII.DateOfBirth"]
    assert score.confidence >= REVIEW and score.floor is Tier.STRICT, name


def ssn_shaped(n: int = 50, seed: int = 13) -> list[str]:
    """``AAA-GG-SSSS`` in the SSN's ranges: what part numbers and SKUs often look like."""
    rng = random.Random(seed)
    return [
        f"{rng.randint(100, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"
        for _ in range(n)
    ]


@pytest.mark.parametrize(
    "name",
    ["part_number", "sku", "item_code", "partNo", "product_id", "artikelnummer", "numero_pieza",
     "codice_articolo"],
)  # fmt: skip
def test_ssn_shaped_part_numbers_are_not_ssns(classifier: Classifier, name: str) -> None:
    score = scores(classifier, column(name, ssn_shaped(), "products"))["PII.NationalId"]
    assert score.confidence < REVIEW and score.floor is None, name
    text = score.explanation("default:1")
    assert "valid US SSN (area, group and serial in range; no check digit; counts half" in text


@pytest.mark.parametrize(
    "name", ["ssn", "social_security_number", "SocialSecurityNumber", "ssn_no", "soc_sec_no", "c_9"]
)
def test_ssn_columns_are_ssns_and_say_what_was_checked(classifier: Classifier, name: str) -> None:
    f = fake("en_US")
    ssns = [f.ssn() for _ in range(50)]
    score = scores(classifier, column(name, ssns, "employees"))["PII.NationalId"]
    assert score.confidence >= SUGGESTED and score.floor is Tier.SPECIFIC, name
    # The SSN has no check digit and python-stdnum does not check it here: say so.
    text = score.explanation("default:1")
    assert "valid US SSN (area, group and serial in range; no check digit)" in text
    assert "python-stdnum" not in text


def test_eight_digit_part_numbers_are_no_passports(classifier: Classifier) -> None:
    rng = random.Random(2)
    parts = [str(rng.randint(10**7, 10**8 - 1)) for _ in range(30)]
    assert confidence(classifier, column("part_number", parts, "products"), "PII.Passport") < REVIEW
    # The same digits where the name says passport are passports.
    assert confidence(classifier, column("psprt_no", parts, "travellers"), "PII.Passport") >= REVIEW


def test_identifiers_with_a_check_digit_decide_under_any_name(classifier: Classifier) -> None:
    # A random code rarely passes PESEL's check: thirty that do are PESELs, whatever the name.
    pesels = values("pl_PL", "pesel", 30)
    score = scores(classifier, column("product_code", pesels, "products"))["PII.NationalId"]
    assert score.confidence >= SUGGESTED and "(python-stdnum)" in score.explanation("default:1")
