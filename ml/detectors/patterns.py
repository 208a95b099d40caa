"""Pattern detector: regular shapes confirmed by validators, scored as a share of samples.

A rule gives each sample a strength: 1.0 when a validator confirms it (Luhn, mod-97, number
plans), less when only the shape matches (a 3-digit CVV looks like any small number). The
label's score is the mean strength over the column's non-empty samples. When at least
``evidence_share`` of them validate and the column as a whole fits (IPv4 parts beyond version
numbers, birth dates spanning decades, handles mostly distinct), the evidence carries the rule's
``Tier``: the classifier then labels the column on the values alone, whatever its name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from typing import NamedTuple

from ml.detectors import ColumnEvidence, ColumnInput, Evidence, Tier
from ml.detectors import gazetteer as g
from ml.detectors import validators as v
from ml.detectors.names import NameDetector
from ml.taxonomy import LabelDef

STREET_EN = re.compile(
    r"\d+[a-z]?,?\s+(\w+[\s-]){0,4}(street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard"
    r"|blvd|way|court|ct|place|pl|square|terrace|close|crescent|parkway|highway|mews)\b",
    re.IGNORECASE,
)
POSTCODE_LINE = re.compile(
    r"(\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b)|(\b\d{2}-?\d{3}\s+[A-Za-zÀ-ÿ][\w\s'-]+$)"
    r"|(\b\d{4,5}\s+[A-Za-zÀ-ÿ][\w\s'-]+$)|(\b[A-Z]{2} \d{5}$)|(\b\d{4} ?[A-Z]{2}\b)",
    re.MULTILINE,
)
TOKEN = re.compile(r"[^\W\d_][\w'.-]*|\d+[A-Za-z]?")
ADDRESS_MAX_TOKENS = 16
PARTICLES = frozenset({"de", "del", "della", "di", "da", "do", "dos", "du", "des", "la", "le"})
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

WEAK_ID = 0.5  # a number without a check digit under a name of something else
BIRTH_DETAIL = "date 1 to 120 years ago"

Strength = Callable[[str], float]


class Bound(NamedTuple):
    """A validator picked for one column. ``decides`` is False where the column's name says
    its values are something else (``hire_date``, ``part_number``): they then never carry
    the rule's tier, so the model alone scores them."""

    strength: Strength
    detail: str
    decides: bool = True


Bind = Callable[[ColumnInput, Sequence[str]], Bound | None]


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


def _glued(word: str, suffixes: tuple[str, ...]) -> bool:
    return any(word.endswith(s) and len(word) > len(s) + 2 for s in suffixes if s[-1] == word[-1])


def has_street(value: str) -> bool:
    """A street type of some language next to a name or number, and a number somewhere:
    ``Calle de Alcalá 5``, ``Kerkstraat 12``, ``aleja Zielona 5``, ``12 rue de la Paix``."""
    if STREET_EN.search(value):
        return True
    tokens = TOKEN.findall(value)
    if len(tokens) > ADDRESS_MAX_TOKENS or not any(t[0].isdigit() for t in tokens):
        return False
    folded = [g.fold(t).strip(".'") for t in tokens]
    streets, glued = g.street_words(), g.glued_street_suffixes()
    for i, (token, word) in enumerate(zip(tokens, folded, strict=True)):
        if token[0].isupper() and len(word) > 5 and _glued(word, glued):
            return True
        if word in streets:
            after = next((t for t in tokens[i + 1 :] if g.fold(t) not in PARTICLES), "")
            before = tokens[i - 1] if i else ""
            if any(t[:1].isupper() or t[:1].isdigit() for t in (before, after)):
                return True
    return False


def postal_address(value: str) -> float:
    """1.0 for a street with a number and a postcode line, 0.9 for a street with a number,
    0.6 for a postcode line alone (0.3 for a bare UK postcode)."""
    if has_street(value):
        return 1.0 if POSTCODE_LINE.search(value.strip()) else 0.9
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
    if EMBEDDED_EMAIL.search(value) or has_street(value):
        return 1.0
    return max((v.phone(m.group(0)) for m in EMBEDDED_PHONE.finditer(value)), default=0.0)


def _holds_name(handle: str) -> bool:
    """``marywood``, ``j.smith``, ``susan06``: a first or last name somewhere inside."""
    names = g.person_names()
    for part in re.split(r"[._\-\d]+", handle):
        if part in names or part[1:] in names:
            return True
        if any(part[:i] in names and len(part) - i >= 3 for i in range(3, len(part) - 2)):
            return True
    return False


def handles(samples: Sequence[str]) -> bool:
    """Handles are mostly distinct, rarely hyphenated phrases (slugs), often hold a name."""
    hyphens = sum(s.count("-") for s in samples) / max(1, len(samples))
    named = sum(_holds_name(s.lower()) for s in samples)
    return v.distinct_share(samples) >= 0.8 and hyphens < 1 and named * 2 >= len(samples)


def birth_dates(samples: Sequence[str]) -> bool:
    return v.birth_dates_spread(samples) and v.distinct_share(samples) >= 0.5


def not_versions(samples: Sequence[str]) -> bool:
    return not v.version_like(samples)


def always(samples: Sequence[str]) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """``tier``: what the column proves when ``evidence_share`` of its samples score 1.0 and
    ``fits`` accepts the column as a whole. ``bind``, if set, picks the validator from the
    column's own samples first (which identifier scheme, which phone region)."""

    label: str
    detail: str
    strength: Strength
    tier: Tier | None = None
    fits: Callable[[Sequence[str]], bool] = always
    bind: Bind | None = None


def bind_national_id(
    names: NameDetector, column: ColumnInput, samples: Sequence[str]
) -> Bound | None:
    """The column's scheme. One without a check digit (a US SSN is any ``AAA-GG-SSSS`` in
    range) counts half, and never decides, under a name that says whose number it is and
    that is a thing: ``123-45-6789`` in ``part_number`` or ``sku`` is a part number."""
    scheme = v.id_scheme(samples)
    if scheme is None:
        return None
    detail = f"valid {scheme.name} ({scheme.how})"
    thing = None if scheme.check_digit else names.names_a_thing(column.name)
    if thing is None:
        return Bound(flag(scheme.check), detail)
    detail = f"{detail[:-1]}; counts half, not alone: the column's name says {thing!r})"
    return Bound(flag(scheme.check, WEAK_ID), detail, decides=False)


def bind_birth_dates(
    names: NameDetector, strength: Strength, column: ColumnInput, samples: Sequence[str]
) -> Bound:
    """Any past date is a birth date somebody has: where the name says what else the dates
    are (``hire_date``, ``created_on``, ``fecha_alta``), they do not decide alone."""
    event = names.dates_another_event(column.name)
    if event is None:
        return Bound(strength, BIRTH_DETAIL)
    detail = f"{BIRTH_DETAIL} (not alone: the column's name dates {event!r})"
    return Bound(strength, detail, decides=False)


def bind_phone(
    names: NameDetector, column: ColumnInput, samples: Sequence[str]
) -> tuple[Strength, str] | None:
    """The column's region. Bare digits count as phones only where the column says so: most of
    its numbers written as phones (``+``, separators, parentheses), or a name that reads as a
    phone (``telefon``, ``handynummer``); elsewhere they may as well be order numbers."""
    shaped = [s for s in samples if v.phone_shaped(s)]
    if len(shaped) * 2 < len(samples):
        return None
    region = v.phone_region(shaped)
    bare = sum(s.strip().isdigit() for s in shaped) * 2 >= len(shaped)
    weak = bare and not names.reads_as(column.name, "PII.Phone")
    where = f", national numbers of {region}" if region else ""
    where += "; bare digits count half" if weak else ""
    detail = f"valid phone number (libphonenumber{where})"
    return Bound(partial(v.valid_phone, region=region, bare_is_weak=weak), detail)


def crypt_or_digest(value: str) -> float:
    if CRYPT_HASH.match(value):
        return 1.0
    return 0.4 if HEX_DIGEST.match(value.strip()) else 0.0


def builtin_rules(today: date, names: NameDetector) -> tuple[Rule, ...]:
    phones = partial(bind_phone, names)
    ids = partial(bind_national_id, names)
    born = flag(lambda s: v.date_of_birth(s, today))
    return (
        Rule("PII.Email", "valid email address", flag(v.email), Tier.SPECIFIC),
        Rule("PII.Phone", "phone number", v.phone, Tier.SPECIFIC, bind=phones),
        Rule("PII.PostalAddress", "street or postcode line", postal_address, Tier.SPECIFIC),
        Rule(
            "PII.DateOfBirth",
            BIRTH_DETAIL,
            born,
            Tier.STRICT,
            birth_dates,
            bind=partial(bind_birth_dates, names, born),
        ),
        Rule("PII.NationalId", "national id", flag(v.us_ssn), Tier.SPECIFIC, bind=ids),
        Rule("PII.Passport", "passport number shape", shape(PASSPORT, 1)),
        Rule(
            "PII.IPAddress",
            "valid IPv4/IPv6 address",
            flag(v.ip_address),
            Tier.SPECIFIC,
            not_versions,
        ),
        Rule("PII.Username", "login-like handle", shape(USERNAME, 1), Tier.STRICT, handles),
        Rule("PII.FreeText", "prose with an email, address or phone inside", mentions_person),
        Rule(
            "PCI.CardNumber",
            "Luhn-valid card number in an issuer range",
            flag(v.card_number),
            Tier.SPECIFIC,
        ),
        Rule("PCI.CVV", "3-4 digit code", shape(CVV, 1)),
        Rule("PCI.BankAccount", "IBAN with valid mod-97 check", flag(v.iban), Tier.SPECIFIC),
        Rule("PHI.MedicalRecordNumber", "medical record number shape", medical_record),
        Rule("PHI.Diagnosis", "ICD-10 code shape", flag(v.icd10)),
        Rule("Credentials.PasswordHash", "password hash format", crypt_or_digest, Tier.SPECIFIC),
        Rule("Credentials.Secret", "API key or high-entropy token", secret, Tier.SPECIFIC),
    )


class PatternDetector:
    name = "pattern"

    def __init__(
        self,
        taxonomy: Sequence[LabelDef],
        today: date,
        max_samples: int = 50,
        evidence_share: float = 0.9,
        evidence_min_samples: int = 5,
    ):
        known = {label.name for label in taxonomy}
        custom = tuple(
            Rule(label.name, "matches the configured pattern", shape(re.compile(label.pattern), 1))
            for label in taxonomy
            if label.pattern
        )
        rules = builtin_rules(today, NameDetector(taxonomy))
        self.rules = tuple(r for r in rules if r.label in known) + custom
        self.max_samples = max_samples
        self.evidence_share = evidence_share
        self.evidence_min_samples = evidence_min_samples

    def detect(self, columns: Sequence[ColumnInput]) -> list[ColumnEvidence]:
        return [self._column(c) for c in columns]

    def _column(self, column: ColumnInput) -> ColumnEvidence:
        samples = [s for s in column.samples[: self.max_samples] if s.strip()]
        if not samples or column.data_type.lower().startswith("bool"):
            return {}
        found: ColumnEvidence = {}
        for rule in self.rules:
            bound = Bound(rule.strength, rule.detail)
            if rule.bind is not None:
                bound = rule.bind(column, samples)
                if bound is None:
                    continue
            strength, detail, decides = bound
            strengths = [strength(s) for s in samples]
            total = sum(strengths)
            if total == 0:
                continue
            hits = [s for s, w in zip(samples, strengths, strict=True) if w > 0]
            found[rule.label] = max(
                found.get(rule.label, Evidence(self.name, 0, "")),
                Evidence(
                    self.name,
                    total / len(samples),
                    detail,
                    len(hits),
                    len(samples),
                    tuple(hits[:2]),
                    self._tier(rule, samples, strengths) if decides else None,
                ),
                key=lambda e: e.score,
            )
        return identifiers_are_not_phones(found)

    def _tier(self, rule: Rule, samples: list[str], strengths: list[float]) -> Tier | None:
        """The rule's tier when nearly every sample validates fully; ``strict`` when nearly
        every one validates at least plausibly (0.9: a phone written nationally)."""
        if rule.tier is None or len(samples) < self.evidence_min_samples:
            return None
        need = self.evidence_share * len(samples)
        if not rule.fits(samples):
            return None
        if sum(w >= 1.0 for w in strengths) >= need:
            return rule.tier
        return Tier.STRICT if sum(w >= 0.9 for w in strengths) >= need else None


def identifiers_are_not_phones(found: ColumnEvidence) -> ColumnEvidence:
    """Digits that pass a national identifier's check are that identifier: a Swedish
    personnummer is also a valid national phone number somewhere, but not a phone."""
    phone, ids = found.get("PII.Phone"), found.get("PII.NationalId")
    if phone and phone.tier == Tier.STRICT and ids and ids.tier:
        found["PII.Phone"] = replace(phone, tier=None)
    return found
