"""A labeled evaluation estate generated with Faker in four locales, decoys included.

Each label has value generators under several column names a real schema might use; decoys
look like sensitive data but are not (order ids failing Luhn, checksums, SKUs, version strings
shaped like IPs, lorem text). Opaque names (``col_17``) are used only where the values alone
identify the label, so every positive column carries evidence some detector can see.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from faker import Faker

from ml.detectors import ColumnInput

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")
OPAQUE_SHARE = 0.35
ICD10_CODES = (  # noqa: SIM905 (one line of codes reads better than 25)
    "E11.9 I10 J45.909 M54.5 F32.A K21.9 E78.5 N39.0 J06.9 R51 Z00.00 I25.10 "
    "G43.909 M17.11 F41.1 E66.9 L40.0 C50.911 S52.501A O80 B20 A09 H52.4 T78.40XA D64.9"
).split()
B64 = string.ascii_letters + string.digits + "./"
ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class LabeledColumn:
    column: ColumnInput
    labels: frozenset[str]


Gen = Callable[[Faker, random.Random], str]


@dataclass(frozen=True)
class Kind:
    """A way a column is filled: its true labels, candidate names and tables, value forms.

    One form is drawn per column (a column holds bcrypt hashes or hex digests, not both).
    """

    label: str  # "" for a decoy
    names: str  # candidate column names, space-separated
    tables: tuple[str, ...]
    forms: tuple[Gen, ...]
    opaque_ok: bool = False


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def note(f: Faker, rng: random.Random) -> str:
    return rng.choice(
        (
            f"Called {f.name()} on {f.phone_number()}: {f.sentence()}",
            f"Customer asked to update email to {f.email()}. {f.sentence()}",
            f"Spoke with {f.name()} about the renewal. {f.sentence()}",
            f"{f.sentence()} Ship to {f.street_address()}, {f.city()}.",
            # notes columns also hold plain prose
            f.paragraph(nb_sentences=2),
            f"{f.sentence()} {f.sentence()}",
        )
    )


PASSWORD_HASHES: tuple[Gen, ...] = (
    lambda f, r: "$2b$12$" + rand(r, B64, 53),
    lambda f, r: "$argon2id$v=19$m=65536,t=3,p=4$" + rand(r, B64, 22) + "$" + rand(r, B64, 43),
    lambda f, r: "pbkdf2_sha256$600000$" + rand(r, ALNUM, 22) + "$" + rand(r, B64, 44),
    lambda f, r: f.sha256(),
)
SECRETS: tuple[Gen, ...] = (
    lambda f, r: "sk_live_" + rand(r, ALNUM, 24),
    lambda f, r: "AKIA" + rand(r, string.ascii_uppercase + string.digits, 16),
    lambda f, r: "ghp_" + rand(r, ALNUM, 36),
    lambda f, r: rand(r, ALNUM, 40),
)


def national_id(f: Faker, rng: random.Random) -> str:
    """Faker's en_GB numbers use the ZZ...T placeholder; draw real-format NINOs instead."""
    if f.locales[0] != "en_GB":
        return f.ssn()
    return f.bothify(rng.choice(("AB######C", "JG ## ## ## A", "NP######D", "SK######B"))).upper()


def failing_luhn(f: Faker, rng: random.Random) -> str:
    number = f.credit_card_number()
    return number[:-1] + str((int(number[-1]) + rng.randint(1, 9)) % 10)


def born(f: Faker) -> date:
    return f.date_of_birth(minimum_age=1, maximum_age=95)


DATES_OF_BIRTH: tuple[Gen, ...] = (
    lambda f, r: born(f).isoformat(),
    lambda f, r: born(f).strftime("%d/%m/%Y"),
    lambda f, r: f"{born(f).isoformat()} 00:00:00",
)


def recent_date(f: Faker, rng: random.Random) -> str:
    """A date of the last months: not a birth date, though it parses like one."""
    return f.date_between(start_date=date(2025, 6, 1), end_date=date(2026, 1, 1)).isoformat()


PEOPLE = ("customers", "users", "employees", "contacts", "patients", "members", "clients")
MONEY = ("payments", "billing", "orders", "invoices", "wallets")
KINDS: tuple[Kind, ...] = (
    Kind(
        "PII.PersonName",
        "full_name name customer_name contact_name holder_name nachname card_holder",
        PEOPLE,
        (lambda f, r: f.name(),),
    ),
    Kind(
        "PII.PersonName",
        "first_name firstName given_name vorname prenom",
        PEOPLE,
        (lambda f, r: f.first_name(),),
    ),
    Kind(
        "PII.PersonName",
        "last_name surname lastName family_name",
        PEOPLE,
        (lambda f, r: f.last_name(),),
    ),
    Kind(
        "PII.Email",
        "email email_address contact_email courriel mail user_email",
        PEOPLE,
        (lambda f, r: f.email(), lambda f, r: f.company_email()),
        True,
    ),
    Kind(
        "PII.Phone",
        "phone phone_number mobile telefon tel contact_phone",
        PEOPLE,
        (lambda f, r: f.phone_number(),),
        True,
    ),
    Kind(
        "PII.PostalAddress",
        "address street_address home_address billing_address adresse street",
        PEOPLE,
        (
            lambda f, r: f.address(),
            lambda f, r: f.street_address(),
            lambda f, r: f.address().replace("\n", ", "),
        ),
    ),
    Kind(
        "PII.DateOfBirth",
        "date_of_birth dob birth_date birthday geburtsdatum",
        PEOPLE,
        DATES_OF_BIRTH,
    ),
    Kind(
        "PII.NationalId",
        "ssn national_id social_security_number nino insee",
        PEOPLE,
        (national_id,),
        True,
    ),
    Kind(
        "PII.Passport",
        "passport_number passport passport_no reisepass",
        PEOPLE,
        (lambda f, r: f.passport_number(),),
    ),
    Kind(
        "PII.IPAddress",
        "ip_address client_ip remote_addr ip source_ip",
        ("sessions", "logins", "events", "access_log"),
        (lambda f, r: f.ipv4(), lambda f, r: f.ipv6(), lambda f, r: f.ipv4_public()),
        True,
    ),
    Kind(
        "PII.Username",
        "username user_name login handle screen_name author",
        PEOPLE,
        (lambda f, r: f.user_name(),),
    ),
    Kind(
        "PII.FreeText",
        "notes comment remarks message body support_notes reason feedback",
        ("tickets", "interactions", "returns", "cases"),
        (note,),
    ),
    Kind(
        "PCI.CardNumber",
        "card_number credit_card cc_number pan card_no",
        MONEY,
        (lambda f, r: f.credit_card_number(),),
        True,
    ),
    Kind(
        "PCI.CVV",
        "cvv cvc security_code cvv2 card_verification",
        MONEY,
        (lambda f, r: f.credit_card_security_code(),),
    ),
    Kind(
        "PCI.BankAccount",
        "iban bank_account account_iban iban_number",
        (*MONEY, "suppliers"),
        (lambda f, r: f.iban(),),
        True,
    ),
    Kind(
        "PHI.MedicalRecordNumber",
        "mrn medical_record_number patient_number chart_number",
        ("patients", "encounters", "admissions"),
        (
            lambda f, r: f"MRN-{r.randint(10**7, 10**8 - 1)}",
            lambda f, r: str(r.randint(10**7, 10**8 - 1)),
        ),
    ),
    Kind(
        "PHI.Diagnosis",
        "diagnosis_code icd10 dx icd_code primary_diagnosis",
        ("encounters", "claims", "admissions"),
        (lambda f, r: r.choice(ICD10_CODES),),
    ),
    Kind(
        "Credentials.PasswordHash",
        "password_hash password passwd hashed_password pwd",
        ("users", "accounts", "logins"),
        PASSWORD_HASHES,
    ),
    Kind(
        "Credentials.Secret",
        "api_key secret access_token client_secret auth_token",
        ("integrations", "apps", "credentials"),
        SECRETS,
    ),
    # decoys: no label
    Kind(
        "",
        "order_id id customer_id quantity row_version",
        ("orders", "order_items"),
        (lambda f, r: str(r.randint(1, 99_999)),),
    ),
    Kind(
        "",
        "order_ref invoice_number ticket_no tracking_number",
        ("orders", "invoices"),
        tuple(
            (lambda f, r, p=p: f.bothify(p))
            for p in ("ORD-########", "INV-2026-######", "TCK-######", "1Z################")
        ),
    ),
    Kind(
        "",
        "gift_card_code voucher_number card_code loyalty_number",
        ("gift_cards", "vouchers"),
        (failing_luhn,),
    ),
    Kind(
        "",
        "checksum file_hash etag content_sha fingerprint",
        ("files", "ledger", "attachments"),
        (lambda f, r: f.md5(), lambda f, r: f.sha1(), lambda f, r: f.sha256()),
    ),
    Kind(
        "",
        "sku product_code bin_location warehouse_code",
        ("products", "inventory"),
        tuple(
            (lambda f, r, p=p: f.bothify(p).upper())
            for p in ("SKU-????-####", "?-##-##", "WH-##", "?##")
        ),
    ),
    Kind(
        "",
        "description title summary tagline",
        ("products", "articles", "plans"),
        (
            lambda f, r: f.sentence(),
            lambda f, r: f.paragraph(nb_sentences=2),
            lambda f, r: f.catch_phrase(),
        ),
    ),
    Kind(
        "",
        "company company_name vendor employer",
        ("accounts", "suppliers"),
        (lambda f, r: f.company(),),
    ),
    Kind(
        "",
        "created_at updated_at password_changed_at last_login_at",
        ("orders", "users"),
        (
            lambda f, r: f.date_time_between(
                start_date=date(2024, 1, 1), end_date=date(2026, 1, 1)
            ).isoformat(sep=" ", timespec="seconds"),
        ),
    ),
    Kind("", "issued_on due_on valid_until shipped_on", ("invoices", "coupons"), (recent_date,)),
    Kind(
        "",
        "email_verified is_active phone_confirmed",
        PEOPLE,
        (lambda f, r: r.choice(("true", "false")),),
    ),
    Kind(
        "",
        "etl_batch_id request_id correlation_id",
        ("orders", "events"),
        (lambda f, r: str(f.uuid4()),),
    ),
    Kind(
        "",
        "app_version firmware schema_version",
        ("devices", "releases"),
        (lambda f, r: ".".join(str(r.randint(0, 20)) for _ in range(4)),),
    ),
    Kind(
        "",
        "status currency country channel",
        ("orders", "payments"),
        (lambda f, r: r.choice(("pending", "paid", "EUR", "USD", "FR", "DE", "email", "phone")),),
    ),
    Kind("", "barcode ean gtin", ("products",), (lambda f, r: f.ean13(),)),
    Kind("", "slug experiment campaign", ("experiments", "campaigns"), (lambda f, r: f.slug(),)),
    Kind(
        "",
        "price amount weight_grams total",
        ("orders", "products"),
        (lambda f, r: str(r.randint(100, 9999)),),
    ),
    Kind("", "url referrer homepage", ("page_views", "companies"), (lambda f, r: f.url(),)),
    Kind("", "user_agent browser", ("sessions",), (lambda f, r: f.user_agent(),)),
)


def generate(seed: int, per_kind: int = 12, samples: int = 30) -> list[LabeledColumn]:
    """``per_kind`` columns of every kind, cycling through the locales; deterministic by seed."""
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale in LOCALES}
    columns = []
    for k, kind in enumerate(KINDS):
        for i in range(per_kind):
            fake = fakers[LOCALES[i % len(LOCALES)]]
            fake.seed_instance(seed * 1_000_003 + k * 1_000 + i)
            opaque = kind.opaque_ok and rng.random() < OPAQUE_SHARE
            name = f"col_{rng.randint(1, 99)}" if opaque else rng.choice(kind.names.split())
            table = rng.choice(kind.tables)
            form = rng.choice(kind.forms)
            values = tuple(form(fake, rng) for _ in range(samples))
            column = ColumnInput(
                f"urn:dw:column:eval/{seed}/{table}/{k}_{i}", name, "varchar", table, "", values
            )
            columns.append(LabeledColumn(column, frozenset({kind.label} - {""})))
    return columns
