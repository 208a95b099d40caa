"""A labeled evaluation estate generated with Faker in ten locales, decoys included.

Each label has value generators under column names in five naming styles: English
``snake`` case, ``camel`` case, ``abbrev`` (abbreviations), ``local`` (words of the locale's
language) and ``opaque`` (``col_17``, only where the values alone identify the label). Decoys
look like sensitive data but are not (order ids failing Luhn, checksums, SKUs, version strings
shaped like IPs, lorem text in the locale's language). Every column records its locale and
style, so evaluation can hold one of either out of fitting (``bench/classify.py``).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from faker import Faker
from stdnum.de import idnr
from stdnum.iso7064 import mod_11_10

from ml.detectors import ColumnInput

LOCALES = (
    "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL", "sv_SE",
)  # fmt: skip
STYLES = ("snake", "camel", "abbrev", "local", "opaque")
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
    locale: str = ""
    style: str = ""


Gen = Callable[[Faker, random.Random], str]


@dataclass(frozen=True)
class Kind:
    """A way a column is filled: its true labels, candidate names and tables, value forms.

    One form is drawn per column (a column holds bcrypt hashes or hex digests, not both).
    """

    label: str  # "" for a decoy
    names: str  # candidate column names in English snake case, space-separated
    tables: tuple[str, ...]
    forms: tuple[Gen, ...]
    opaque_ok: bool = False

    @property
    def key(self) -> str:
        return self.names.split()[0]


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def note(f: Faker, rng: random.Random) -> str:
    """Notes in the locale's words around a person's name, phone, email or address."""
    return rng.choice(
        (
            f"{f.name()}, {f.phone_number()}: {f.sentence()}",
            f"{f.sentence()} {f.email()}. {f.sentence()}",
            f"{f.name()} - {f.sentence()} {f.sentence()}",
            f"{f.sentence()} {f.street_address()}, {f.city()}.",
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


def german_idnr(rng: random.Random) -> str:
    """A German tax id (IdNr): Faker has none, so draw digits until the check digit fits."""
    while True:
        digits = "".join(
            rng.choice(string.digits[1:] if i == 0 else string.digits) for i in range(10)
        )
        number = digits + mod_11_10.calc_check_digit(digits)
        if idnr.is_valid(number):
            return number


NATIONAL_IDS: dict[str, Gen] = {
    # Faker's en_GB numbers use the ZZ...T placeholder; draw real-format NINOs instead.
    "en_GB": lambda f, r: f.bothify(
        r.choice(("AB######C", "JG ## ## ## A", "NP######D", "SK######B"))
    ).upper(),
    "de_DE": lambda f, r: german_idnr(r),
    "es_ES": lambda f, r: r.choice((f.nif, f.nie))(),
    "pt_BR": lambda f, r: f.cpf(),
    "pl_PL": lambda f, r: f.pesel(),
}


def national_id(f: Faker, rng: random.Random) -> str:
    gen = NATIONAL_IDS.get(f.locales[0])
    return gen(f, rng) if gen else f.ssn()


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


# Abbreviated and local-language names of the sensitive kinds, keyed by the kind's first name.
# Decoys keep their English names in every style. These names were written by the same hand as
# the taxonomy's keywords: the naming-style hold-out shows the fit does not lean on a style, not
# that the vocabulary had never seen the words.
ABBREV = {
    "full_name": "nm cust_nm fullnm contact_nm",
    "first_name": "fname fst_nm first_nm",
    "last_name": "lname lst_nm sname",
    "email": "eml e_addr usr_eml cust_eml",
    "phone": "ph ph_no tel_no mob_no phn",
    "address": "addr addr1 st_addr hm_addr",
    "date_of_birth": "dob bdate dt_birth birth_dt",
    "ssn": "nat_id ssn_no soc_sec_no tax_id",
    "passport_number": "pp_no psprt_no passp_no",
    "ip_address": "ip_addr cli_ip src_ip rem_ip",
    "username": "usr usr_nm uname login_nm",
    "notes": "rmk cmt nt txt",
    "card_number": "cc_no card_nbr pan_no ccn",
    "cvv": "cvv_cd sec_cd cvc_no",
    "iban": "iban_no bank_acct acct_iban",
    "mrn": "mrn_no med_rec_no pt_no",
    "diagnosis_code": "dx_cd icd_cd diag_cd",
    "password_hash": "pwd_hash pw_hsh passwd_h",
    "api_key": "api_k sec_key acc_tok tok",
}
LOCAL_NAMES: dict[str, dict[str, str]] = {
    "full_name": {
        "de": "vollstaendiger_name kunde_name", "fr": "nom_complet nom_client",
        "es": "nombre_completo nombre_cliente", "it": "nome_completo nominativo",
        "nl": "volledige_naam klant_naam", "pt": "nome_completo nome_cliente",
        "pl": "imie_nazwisko nazwa_klienta", "sv": "fullstandigt_namn kund_namn",
    },
    "first_name": {
        "de": "vorname", "fr": "prenom", "es": "nombre nombre_pila", "it": "nome",
        "nl": "voornaam", "pt": "primeiro_nome nome", "pl": "imie", "sv": "fornamn",
    },
    "last_name": {
        "de": "nachname familienname", "fr": "nom_famille", "es": "apellido apellidos",
        "it": "cognome", "nl": "achternaam", "pt": "sobrenome", "pl": "nazwisko",
        "sv": "efternamn",
    },
    "email": {
        "de": "e_mail_adresse kunden_mail", "fr": "courriel adresse_courriel",
        "es": "correo correo_electronico", "it": "posta_elettronica email_cliente",
        "nl": "emailadres e_mail", "pt": "email_cliente correio_eletronico",
        "pl": "adres_email poczta_email", "sv": "e_post epostadress",
    },
    "phone": {
        "de": "telefonnummer handynummer", "fr": "telephone numero_portable",
        "es": "telefono movil", "it": "telefono cellulare", "nl": "telefoonnummer mobiel",
        "pt": "telefone celular", "pl": "numer_telefonu komorka", "sv": "telefonnummer mobil",
    },
    "address": {
        "de": "anschrift strasse_hausnummer", "fr": "adresse adresse_postale",
        "es": "direccion domicilio", "it": "indirizzo domicilio", "nl": "adres woonadres",
        "pt": "endereco morada", "pl": "adres ulica", "sv": "adress gatuadress",
    },
    "date_of_birth": {
        "de": "geburtsdatum geburtstag", "fr": "date_naissance", "es": "fecha_nacimiento",
        "it": "data_nascita", "nl": "geboortedatum", "pt": "data_nascimento",
        "pl": "data_urodzenia", "sv": "fodelsedatum",
    },
    "ssn": {
        "de": "steuer_id steuernummer", "fr": "numero_secu insee", "es": "dni nif",
        "it": "codice_fiscale", "nl": "bsn burgerservicenummer", "pt": "cpf",
        "pl": "pesel", "sv": "personnummer",
    },
    "passport_number": {
        "de": "reisepass_nr", "fr": "numero_passeport", "es": "pasaporte", "it": "passaporto",
        "nl": "paspoortnummer", "pt": "passaporte", "pl": "paszport", "sv": "passnummer",
    },
    "ip_address": {
        "de": "ip_adresse", "fr": "adresse_ip", "es": "direccion_ip", "it": "indirizzo_ip",
        "nl": "ip_adres", "pt": "endereco_ip", "pl": "adres_ip", "sv": "ip_adress",
    },
    "username": {
        "de": "benutzername", "fr": "identifiant pseudo", "es": "usuario nombre_usuario",
        "it": "nome_utente", "nl": "gebruikersnaam", "pt": "usuario apelido",
        "pl": "nazwa_uzytkownika", "sv": "anvandarnamn",
    },
    "notes": {
        "de": "bemerkung notizen", "fr": "remarques commentaire", "es": "notas comentario",
        "it": "note commento", "nl": "opmerkingen notities", "pt": "observacoes notas",
        "pl": "uwagi notatki", "sv": "anteckningar kommentar",
    },
    "card_number": {
        "de": "kartennummer kreditkarte", "fr": "numero_carte carte_bancaire",
        "es": "numero_tarjeta tarjeta", "it": "numero_carta carta_credito",
        "nl": "kaartnummer creditcard", "pt": "numero_cartao cartao", "pl": "numer_karty",
        "sv": "kortnummer",
    },
    "cvv": {
        "de": "pruefziffer_karte", "fr": "cryptogramme", "es": "codigo_seguridad",
        "it": "codice_sicurezza", "nl": "beveiligingscode", "pt": "codigo_seguranca",
        "pl": "kod_cvv", "sv": "sakerhetskod",
    },
    "iban": {
        "de": "kontonummer bankverbindung", "fr": "rib iban_client", "es": "cuenta_bancaria",
        "it": "conto_corrente", "nl": "rekeningnummer", "pt": "conta_bancaria",
        "pl": "numer_konta", "sv": "kontonummer",
    },
    "mrn": {
        "de": "patientennummer", "fr": "numero_dossier_medical", "es": "historia_clinica",
        "it": "cartella_clinica", "nl": "patientnummer", "pt": "prontuario",
        "pl": "numer_pacjenta", "sv": "journalnummer",
    },
    "diagnosis_code": {
        "de": "diagnose", "fr": "diagnostic", "es": "diagnostico", "it": "diagnosi",
        "nl": "diagnosecode", "pt": "diagnostico", "pl": "rozpoznanie", "sv": "diagnoskod",
    },
    "password_hash": {
        "de": "passwort_hash", "fr": "mot_de_passe", "es": "contrasena", "it": "password_utente",
        "nl": "wachtwoord", "pt": "senha", "pl": "haslo", "sv": "losenord",
    },
    "api_key": {
        "de": "api_schluessel", "fr": "cle_api jeton", "es": "clave_api token_acceso",
        "it": "chiave_api", "nl": "api_sleutel", "pt": "chave_api", "pl": "klucz_api",
        "sv": "api_nyckel",
    },
}  # fmt: skip


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(w.capitalize() for w in rest)


def column_name(kind: Kind, style: str, locale: str, rng: random.Random) -> str:
    """A name in ``style`` for a column of ``kind`` in ``locale``."""
    if style == "opaque":
        return f"col_{rng.randint(1, 99)}"
    names = kind.names
    if kind.label and style == "abbrev":
        names = ABBREV[kind.key]
    elif kind.label and style == "local":
        names = LOCAL_NAMES[kind.key].get(locale[:2], kind.names)
    name = rng.choice(names.split())
    return camel(name) if style == "camel" else name


def generate(seed: int, per_kind: int = 20, samples: int = 30) -> list[LabeledColumn]:
    """``per_kind`` columns of every kind, cycling through the locales and the naming styles
    (opaque names only where the values alone identify the label); deterministic by seed."""
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale in LOCALES}
    columns = []
    for k, kind in enumerate(KINDS):
        styles = STYLES if kind.opaque_ok else STYLES[:-1]
        for i in range(per_kind):
            locale = LOCALES[i % len(LOCALES)]
            fake = fakers[locale]
            fake.seed_instance(seed * 1_000_003 + k * 1_000 + i)
            style = styles[(i + k + seed) % len(styles)]
            name = column_name(kind, style, locale, rng)
            table = rng.choice(kind.tables)
            form = rng.choice(kind.forms)
            values = tuple(form(fake, rng) for _ in range(samples))
            column = ColumnInput(
                f"urn:dw:column:eval/{seed}/{table}/{k}_{i}", name, "varchar", table, "", values
            )
            labels = frozenset({kind.label} - {""})
            columns.append(LabeledColumn(column, labels, locale, style))
    return columns
