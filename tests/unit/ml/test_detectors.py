"""Detectors one by one: column names, pattern shares, the NER fallback."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ml.detectors import ColumnInput
from ml.detectors.names import NameDetector, words
from ml.detectors.ner import NerDetector, _fallback
from ml.detectors.patterns import PatternDetector
from ml.taxonomy import BUILTIN, LabelDef, Sensitivity, load_taxonomy


def column(name: str, *samples: str, data_type: str = "varchar") -> ColumnInput:
    return ColumnInput(f"urn:dw:column:s/d/s/t/{name}", name, data_type, "t", "", samples)


def names(name: str) -> dict[str, float]:
    return {k: e.score for k, e in NameDetector(BUILTIN).detect([column(name)])[0].items()}


def test_column_names() -> None:
    assert words("customerEmailAddress") == ["customer", "email", "address"]
    assert words("phones[].number") == ["phone", "number"]
    assert names("FirstName") == {"PII.PersonName": 1.0}
    assert names("name.first") == {"PII.PersonName": 1.0}
    assert names("ip_address") == {"PII.IPAddress": 1.0}  # not a postal address
    assert names("national_id") == {"PII.NationalId": 1.0}  # "id" is part of the phrase
    assert names("email_verified") == {"PII.Email": 0.2}  # about an email, not one
    assert names("customer_id") == {}
    assert names("order_ref") == {}


@pytest.mark.parametrize(
    ("name", "label"),
    [("notiz", "PII.FreeText"), ("anmerkungen", "PII.FreeText"), ("bemerkungen", "PII.FreeText"),
     ("nachricht", "PII.FreeText"), ("commentaire", "PII.FreeText"), ("remarques", "PII.FreeText"),
     ("handynummer", "PII.Phone"), ("mobilnummer", "PII.Phone"), ("rufnummer", "PII.Phone"),
     ("handy", "PII.Phone"), ("kennwort", "Credentials.PasswordHash"),
     ("bankverbindung", "PCI.BankAccount")],
)  # fmt: skip
def test_german_and_french_column_names(name: str, label: str) -> None:
    assert set(names(name)) == {label}


def test_a_word_of_the_name_does_not_make_it_another_concept() -> None:
    # A place of birth is a place: neither "birth" nor the "de" read as "date" make it a date.
    for name in ("lieu_de_naissance", "place_of_birth", "luogo_di_nascita", "lugar_de_nacimiento"):
        assert names(name) == {}, name
    assert names("date_de_naissance") == {"PII.DateOfBirth": 1.0}
    assert names("dt_birth") == {"PII.DateOfBirth": 0.8}  # abbreviations still read
    # A word for a thing abbreviates nothing: the "part" of part_number is no "passport".
    assert names("part_number") == {} and names("partNo") == {}
    assert names("psprt_no") == {"PII.Passport": 0.8}


def test_names_that_date_another_event_or_number_a_thing() -> None:
    n = NameDetector(BUILTIN)
    assert n.dates_another_event("hire_date") == "hire"
    assert n.dates_another_event("last_login_at") == "last login"
    assert n.dates_another_event("eintrittsdatum") == "eintritts"  # a compound's head
    assert n.dates_another_event("date_of_death") == "death"
    # No other event: no date word, nothing beside it, or a birth however it is spelt.
    for name in ("update", "date", "d_1", "date_value", "dt_x9", "birth_dt", "bdate",
                 "geburtstag", "syntymapaiva", "date_de_naissance"):  # fmt: skip
        assert n.dates_another_event(name) is None, name
    assert n.names_a_thing("part_number") == "part"
    assert n.names_a_thing("rechnungsnummer") == "rechnung"
    # People's numbers and national ids are no things.
    for name in ("ssn_no", "soc_sec_no", "tax_id", "patient_id", "employee_number", "partner_id"):
        assert n.names_a_thing(name) is None, name


def pattern_scores(*samples: str, name: str = "c", data_type: str = "varchar") -> dict[str, float]:
    detector = PatternDetector(BUILTIN, date(2026, 6, 1))
    found = detector.detect([column(name, *samples, data_type=data_type)])[0]
    return {k: round(e.score, 2) for k, e in found.items()}


def test_pattern_scores_are_shares_of_valid_samples() -> None:
    cards = ["4111111111111111", "5500005555555559", "4111111111111112", ""]
    assert pattern_scores(*cards)["PCI.CardNumber"] == 0.67  # empty samples do not count
    assert "PCI.CardNumber" not in pattern_scores("4111111111111112", "1234567812345678")
    assert pattern_scores("true", "false", data_type="boolean") == {}
    hashes = pattern_scores("$2b$12$" + "a" * 53, "0" * 64)
    assert hashes["Credentials.PasswordHash"] == 0.7  # bcrypt 1.0, bare hex digest 0.4
    assert pattern_scores("Called Ana on +44 20 7946 0958 about her order")["PII.FreeText"] == 1


def test_configured_labels_bring_their_pattern(tmp_path: Path) -> None:
    extra = tmp_path / "taxonomy.yaml"
    extra.write_text(
        "- name: Internal.EmployeeId\n  sensitivity: internal\n"
        "  description: employee number\n  keywords: {employee_no: 1}\n  pattern: 'E-\\d{6}'\n"
    )
    taxonomy = load_taxonomy(extra)
    label = next(t for t in taxonomy if t.name == "Internal.EmployeeId")
    assert label == LabelDef(
        "Internal.EmployeeId",
        Sensitivity.INTERNAL,
        "employee number",
        {"employee_no": 1},
        r"E-\d{6}",
    )
    found = PatternDetector(taxonomy, date(2026, 6, 1)).detect([column("x", "E-123456")])[0]
    assert found["Internal.EmployeeId"].score == 1


def test_blank_pipeline_fallback_finds_people() -> None:
    nlp = _fallback()
    assert nlp.pipe_names == ["entity_ruler"]
    found = NerDetector(nlp).detect([column("contact", "Maria Schmidt", "Jean Dupont", "x-17")])[0]
    assert found["PII.PersonName"].hits == 2
