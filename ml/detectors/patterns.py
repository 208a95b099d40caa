"""Pattern detector: regular shapes confirmed by validators, scored as a share of samples.

A rule gives each sample a strength: 1.0 when a validator confirms it (Luhn, mod-97, number
plans), less when only the shape matches (a 3-digit CVV looks like any small number). The
label's score is the mean strength over the column's non-empty samples.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from ml.detectors import ColumnEvidence, ColumnInput, Evidence, mask
from ml.detectors import validators as v
from ml.taxonomy import LabelDef

STREET = re.compile(
    r"(\d+[a-z]?,?\s+(\w+[\s-]){0,4}(street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard"
    r"|blvd|way|court|ct|place|pl|square|terrace|close|crescent|parkway|highway|mews)\b)"
    r"|(\b(rue|avenue|boulevard|bd|chemin|impasse|place|all[ée]e|quai)\s+\w)"
    r"|((stra(ss|ß)e|str\.|gasse|weg|platz|allee|ring)\s+\d+)",
    re.IGNORECASE,
)
POSTCODE_LINE = re.compile(
    r"(\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b)|(\b\d{5}\s+[A-Za-zÀ-ÿ][\w\s'-]+$)|(\b[A-Z]{2} \d{5}$)",
    re.MULTILINE,
)
UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$")
PASSPORT = re.compile(r"^[A-Z]{0,2}\d{7,9}$")
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,30}$")
CVV = re.compile(r"^\d{3,4}$")
MRN = re.compile(r"^(MRN|MR|PT)[-: ]?\d{5,10}$", re.IGNORECASE)
DIGITS_6_10 = re.compile(r"^\d{6,10}$")
CRYPT_HASH = re.compile(r"^(\$(2[abxy]?|argon2(id|i|d)|[156]|scrypt|pbkdf2[\w-]*)\$|pbkdf2_\w+\$)")
HEX_DIGEST = re.compile(r"^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$", re.I)
KNOWN_SECRET = re.compile(
    r"^(sk|pk|rk)_(live|test)_\w{10,}|^AKIA[0-9A-Z]{16}$|^gh[pousr]_\w{30,}|^xox[abpr]-[\w-]+"
    r"|^AIza[\w-]{30,}|^eyJ[\w-]+\.[\w-]+\.[\w-]+$|^-----BEGIN [A-Z ]*PRIVATE KEY"
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
EMBEDDED_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}")
EMBEDDED_PHONE = re.compile(r"\+?\(?\d[\d ().-]{7,}\d(x\d+)?")

Strength = Callable[[str], float]


def flag(check: Callable[[str], bool], strength: float = 1.0) -> Strength:
    return lambda s: strength if check(s) else 0.0


def shape(regex: re.Pattern[str], strength: float) -> Strength:
    return lambda s: strength if regex.match(s) else 0.0


def secret(value: str) -> float:
    """Known key formats for sure; otherwise a long, dense, random-looking token."""
    if KNOWN_SECRET.match(value):
        return 1.0
    token = value.strip()
    dense = (
        len(token) >= 20
        and " " not in token
        and not UUID.match(token)
        and any(c.isdigit() for c in token)
        and any(c.isalpha() for c in token)
    )
    return 0.5 if dense and v.entropy(token) >= 3.5 else 0.0


def password_hash(value: str) -> float:
    if CRYPT_HASH.match(value):
        return 1.0
    return 0.4 if HEX_DIGEST.match(value.strip()) else 0.0


def postal_address(value: str) -> float:
    if STREET.search(value):
        return 1.0
    if any(c.isalpha() for c in value) and POSTCODE_LINE.search(value.strip()):
        return 0.6 if UK_POSTCODE.match(value.strip().upper()) is None else 0.3
    return 0.0


def medical_record(value: str) -> float:
    if MRN.match(value.strip()):
        return 1.0
    return 0.2 if DIGITS_6_10.match(value.strip()) else 0.0


def mentions_person(value: str) -> float:
    """Prose that carries an email address, a street address or a phone number inside it."""
    if len(value.split()) < 5:
        return 0.0
    if EMBEDDED_EMAIL.search(value) or STREET.search(value):
        return 1.0
    return max((v.phone(m.group(0)) for m in EMBEDDED_PHONE.finditer(value)), default=0.0)


@dataclass(frozen=True)
class Rule:
    label: str
    detail: str
    strength: Strength


def builtin_rules(today: date) -> tuple[Rule, ...]:
    return (
        Rule("PII.Email", "valid email address", flag(v.email)),
        Rule("PII.Phone", "possible phone number (libphonenumber)", v.phone),
        Rule("PII.PostalAddress", "street or postcode line", postal_address),
        Rule(
            "PII.DateOfBirth", "date 1 to 120 years ago", flag(lambda s: v.date_of_birth(s, today))
        ),
        Rule("PII.NationalId", "valid SSN, NINO or NIR", flag(v.national_id)),
        Rule("PII.Passport", "passport number shape", shape(PASSPORT, 1)),
        Rule("PII.IPAddress", "valid IPv4/IPv6 address", flag(v.ip_address)),
        Rule("PII.Username", "login-like handle", shape(USERNAME, 1)),
        Rule("PII.FreeText", "prose with an email, address or phone inside", mentions_person),
        Rule("PCI.CardNumber", "Luhn-valid card number", flag(v.card_number)),
        Rule("PCI.CVV", "3-4 digit code", shape(CVV, 1)),
        Rule("PCI.BankAccount", "IBAN with valid mod-97 check", flag(v.iban)),
        Rule("PHI.MedicalRecordNumber", "medical record number shape", medical_record),
        Rule("PHI.Diagnosis", "ICD-10 code shape", flag(v.icd10)),
        Rule("Credentials.PasswordHash", "password hash format", password_hash),
        Rule("Credentials.Secret", "API key or high-entropy token", secret),
    )


class PatternDetector:
    name = "pattern"

    def __init__(self, taxonomy: Sequence[LabelDef], today: date, max_samples: int = 50):
        known = {label.name for label in taxonomy}
        custom = tuple(
            Rule(label.name, "matches the configured pattern", shape(re.compile(label.pattern), 1))
            for label in taxonomy
            if label.pattern
        )
        self.rules = tuple(r for r in builtin_rules(today) if r.label in known) + custom
        self.max_samples = max_samples

    def detect(self, columns: Sequence[ColumnInput]) -> list[ColumnEvidence]:
        return [self._column(c) for c in columns]

    def _column(self, column: ColumnInput) -> ColumnEvidence:
        samples = [s for s in column.samples[: self.max_samples] if s.strip()]
        if not samples or column.data_type.lower().startswith("bool"):
            return {}
        found: ColumnEvidence = {}
        for rule in self.rules:
            strengths = [rule.strength(s) for s in samples]
            total = sum(strengths)
            if total == 0:
                continue
            hits = [s for s, w in zip(samples, strengths, strict=True) if w > 0]
            found[rule.label] = max(
                found.get(rule.label, Evidence(self.name, 0, "")),
                Evidence(
                    self.name,
                    total / len(samples),
                    rule.detail,
                    len(hits),
                    len(samples),
                    tuple(mask(s) for s in hits[:2]),
                ),
                key=lambda e: e.score,
            )
        return found
