"""The "acme" demo estate as data: tables, views and collections with their value generators.

Sensitive columns (names, emails, phones, addresses, Luhn-valid card numbers, IBANs, SSNs,
dates of birth, free-text notes quoting people) sit beside decoys that look alike but are not
personal (order references, hashes, SKUs, barcodes, 16-digit gift card codes failing Luhn),
so classifiers have both to get right. ``devstack.demo`` turns this into databases.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from bson import ObjectId
from faker import Faker

Engine = Literal["mariadb", "postgres", "mongodb"]
EPOCH = datetime(2026, 1, 1)  # generated timestamps are relative to this, never to the clock


@dataclass
class Row:
    """What a generator sees: the seeded Faker and RNG, the row's id and the table's size."""

    fake: Faker
    rng: random.Random
    n: int
    i: int = 0


Gen = Callable[[Row], Any]


@dataclass(frozen=True)
class Col:
    name: str
    type: str  # portable SQL; "timestamp" is DATETIME on MariaDB
    gen: Gen
    nullable: bool = True
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Col, ...]
    refs: tuple[tuple[str, str], ...] = ()  # (column, parent table): FOREIGN KEY to parent.id
    schema: str = "public"  # PostgreSQL only


@dataclass(frozen=True)
class View:
    name: str
    sql: str  # ``{s}`` is the replica suffix of every table name
    schema: str = "public"
    materialized: bool = False


@dataclass(frozen=True)
class Collection:
    name: str
    doc: Callable[[Row], dict[str, Any]]
    unique: tuple[str, ...] = ()
    indexed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Database:
    name: str
    engine: Engine
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    collections: tuple[Collection, ...] = ()
    schemas: tuple[str, ...] = field(default=())


# --- generators -------------------------------------------------------------------------


def luhn_digit(digits: str) -> str:
    """The Luhn check digit that makes ``digits + digit`` valid."""
    total = 0
    for pos, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if pos % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    digits = "".join(ch for ch in number if ch.isdigit())
    return len(digits) > 1 and luhn_digit(digits[:-1]) == digits[-1]


def gift_card(r: Row) -> str:
    """16 digits like a card number, with a wrong check digit: a decoy."""
    body = "".join(str(r.rng.randint(0, 9)) for _ in range(15))
    return body + str((int(luhn_digit(body)) + 1 + r.rng.randint(0, 8)) % 10)


def ts(r: Row, days: int = 365) -> datetime:
    return EPOCH - timedelta(seconds=r.rng.randint(0, days * 86_400))


def money(r: Row, high: int = 500) -> Decimal:
    return Decimal(r.rng.randint(100, high * 100)) / 100


def ref(r: Row) -> int:
    """A foreign key value: every table of a replica has ``n`` rows, ids 1..n."""
    return r.rng.randint(1, r.n)


def maybe(gen: Gen, null_ratio: float = 0.2) -> Gen:
    return lambda r: None if r.rng.random() < null_ratio else gen(r)


def note(r: Row) -> str:
    """Free text that quotes a person, the way support notes do."""
    f = r.fake
    templates = (
        f"Called {f.name()} on {f.phone_number()}: {f.sentence()}",
        f"Customer asked to update email to {f.email()}. {f.sentence()}",
        f"{f.sentence()} Ship to {f.street_address()}, {f.city()}.",
        f.paragraph(nb_sentences=2),
    )
    return r.rng.choice(templates)


def code(pattern: str) -> Gen:
    return lambda r: r.fake.bothify(pattern).upper()


def birth_date(r: Row) -> date:
    return r.fake.date_of_birth(minimum_age=18, maximum_age=90)


STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
AUDIT = (
    Col("created_at", "timestamp", ts, nullable=False),
    Col("updated_at", "timestamp", maybe(ts, 0.3)),
    Col("created_by", "varchar(64)", lambda r: r.rng.choice(("svc-etl", "svc-api", "admin"))),
    Col("row_version", "integer", lambda r: r.rng.randint(1, 9), nullable=False),
    Col("etl_batch_id", "char(36)", lambda r: str(r.fake.uuid4())),
)


def table(
    name: str,
    doc: str,
    *columns: Col,
    refs: tuple[tuple[str, str], ...] = (),
    schema: str = "public",
) -> Table:
    """A table with its ``id`` primary key first and the audit columns last."""
    ident = Col("id", "bigint", lambda r: r.i, nullable=False)
    return Table(name, doc, (ident, *columns, *AUDIT), refs, schema)


# --- MariaDB: shop ------------------------------------------------------------------------

SHOP = Database(
    "shop",
    "mariadb",
    tables=(
        table(
            "customers",
            "Registered shoppers",
            Col("first_name", "varchar(80)", lambda r: r.fake.first_name(), nullable=False),
            Col("last_name", "varchar(80)", lambda r: r.fake.last_name(), nullable=False),
            Col("email", "varchar(200)", lambda r: r.fake.unique.email(), False, True),
            Col("phone", "varchar(40)", maybe(lambda r: r.fake.phone_number())),
            Col("date_of_birth", "date", maybe(birth_date, 0.1)),
            Col("loyalty_code", "varchar(20)", code("LOY-####-????")),
            Col("password_hash", "char(64)", lambda r: r.fake.sha256()),
        ),
        table(
            "addresses",
            "Postal addresses of customers",
            Col("customer_id", "bigint", ref, nullable=False),
            Col("street", "varchar(200)", lambda r: r.fake.street_address()),
            Col("city", "varchar(100)", lambda r: r.fake.city()),
            Col("state", "char(2)", lambda r: r.fake.state_abbr()),
            Col("postal_code", "varchar(10)", lambda r: r.fake.postcode()),
            Col("country", "char(2)", lambda r: "US"),
            Col("is_default", "boolean", lambda r: r.rng.random() < 0.5),
            refs=(("customer_id", "customers"),),
        ),
        table(
            "categories",
            "Product categories",
            Col("name", "varchar(80)", lambda r: r.fake.word().title()),
            Col("slug", "varchar(80)", lambda r: r.fake.slug()),
        ),
        table(
            "products",
            "Catalogue",
            Col("category_id", "bigint", ref, nullable=False),
            Col("sku", "varchar(20)", code("SKU-????-####"), nullable=False),
            Col("name", "varchar(120)", lambda r: r.fake.catch_phrase()),
            Col("description", "text", lambda r: r.fake.paragraph()),
            Col("price", "numeric(10,2)", money),
            Col("weight_grams", "integer", lambda r: r.rng.randint(50, 20_000)),
            Col("barcode", "char(13)", lambda r: r.fake.ean13()),
            refs=(("category_id", "categories"),),
        ),
        table(
            "suppliers",
            "Vendors and their bank details",
            Col("company_name", "varchar(120)", lambda r: r.fake.company()),
            Col("contact_name", "varchar(120)", lambda r: r.fake.name()),
            Col("contact_email", "varchar(200)", lambda r: r.fake.company_email()),
            Col("phone", "varchar(40)", lambda r: r.fake.phone_number()),
            Col("iban", "varchar(34)", lambda r: r.fake.iban()),
            Col("swift", "varchar(11)", lambda r: r.fake.swift()),
        ),
        table(
            "inventory",
            "Stock per warehouse bin",
            Col("product_id", "bigint", ref, nullable=False),
            Col("warehouse_code", "varchar(8)", code("WH-##")),
            Col("bin_location", "varchar(12)", code("?-##-##")),
            Col("quantity", "integer", lambda r: r.rng.randint(0, 500)),
            refs=(("product_id", "products"),),
        ),
        table(
            "orders",
            "Customer orders",
            Col("customer_id", "bigint", ref, nullable=False),
            Col("order_ref", "varchar(20)", lambda r: f"ORD-{r.i:08d}", False, True),
            Col("status", "varchar(12)", lambda r: r.rng.choice(STATUSES)),
            Col("total", "numeric(12,2)", money),
            Col("currency", "char(3)", lambda r: "USD"),
            Col("ordered_at", "timestamp", ts),
            Col("shipping_address_id", "bigint", maybe(ref, 0.1)),
            refs=(("customer_id", "customers"), ("shipping_address_id", "addresses")),
        ),
        table(
            "order_items",
            "Lines of orders",
            Col("order_id", "bigint", ref, nullable=False),
            Col("product_id", "bigint", ref, nullable=False),
            Col("quantity", "integer", lambda r: r.rng.randint(1, 5)),
            Col("unit_price", "numeric(10,2)", money),
            refs=(("order_id", "orders"), ("product_id", "products")),
        ),
        table(
            "payments",
            "Card payments of orders",
            Col("order_id", "bigint", ref, nullable=False),
            Col("card_holder", "varchar(120)", lambda r: r.fake.name()),
            Col("card_number", "varchar(19)", lambda r: r.fake.credit_card_number()),
            Col("card_expiry", "char(5)", lambda r: r.fake.credit_card_expire()),
            Col("amount", "numeric(12,2)", money),
            Col("auth_code", "char(6)", code("??####")),
            Col("paid_at", "timestamp", ts),
            refs=(("order_id", "orders"),),
        ),
        table(
            "shipments",
            "Parcels sent",
            Col("order_id", "bigint", ref, nullable=False),
            Col("carrier", "varchar(20)", lambda r: r.rng.choice(("UPS", "FedEx", "USPS"))),
            Col("tracking_number", "varchar(24)", code("1Z################")),
            Col("recipient_name", "varchar(120)", lambda r: r.fake.name()),
            Col("delivery_address", "varchar(300)", lambda r: r.fake.address().replace("\n", ", ")),
            Col("shipped_at", "timestamp", maybe(ts)),
            refs=(("order_id", "orders"),),
        ),
        table(
            "returns",
            "Returned orders",
            Col("order_id", "bigint", ref, nullable=False),
            Col("reason", "text", note),
            Col("refund_amount", "numeric(12,2)", money),
            refs=(("order_id", "orders"),),
        ),
        table(
            "reviews",
            "Product reviews",
            Col("product_id", "bigint", ref, nullable=False),
            Col("customer_id", "bigint", ref, nullable=False),
            Col("rating", "integer", lambda r: r.rng.randint(1, 5)),
            Col("title", "varchar(120)", lambda r: r.fake.sentence(nb_words=5)),
            Col("body", "text", note),
            refs=(("product_id", "products"), ("customer_id", "customers")),
        ),
        table(
            "carts",
            "Open shopping carts",
            Col("customer_id", "bigint", maybe(ref, 0.4)),
            Col("session_token", "char(64)", lambda r: r.fake.sha256()),
            Col("ip_address", "varchar(45)", lambda r: r.fake.ipv4_public()),
            refs=(("customer_id", "customers"),),
        ),
        table(
            "cart_items",
            "Lines of carts",
            Col("cart_id", "bigint", ref, nullable=False),
            Col("product_id", "bigint", ref, nullable=False),
            Col("quantity", "integer", lambda r: r.rng.randint(1, 3)),
            refs=(("cart_id", "carts"), ("product_id", "products")),
        ),
        table(
            "coupons",
            "Discount codes",
            Col("code", "varchar(16)", code("SAVE-??##-??##"), False, True),
            Col("discount_pct", "integer", lambda r: r.rng.choice((5, 10, 15, 20))),
            Col("valid_until", "date", lambda r: ts(r).date()),
        ),
        table(
            "gift_cards",
            "Gift cards (numbers are not payment cards)",
            Col("card_code", "char(16)", gift_card, nullable=False),
            Col("balance", "numeric(10,2)", money),
            Col("issued_at", "timestamp", ts),
        ),
    ),
    views=(
        View(
            "order_summary",
            "SELECT o.id AS order_id, o.order_ref, c.email, c.first_name, c.last_name,"
            " o.total, o.ordered_at FROM orders{s} o JOIN customers{s} c ON c.id = o.customer_id",
        ),
        View(
            "product_sales",
            "SELECT p.sku, p.name, SUM(i.quantity) AS units,"
            " SUM(i.quantity * i.unit_price) AS revenue"
            " FROM order_items{s} i JOIN products{s} p ON p.id = i.product_id"
            " GROUP BY p.sku, p.name",
        ),
    ),
)

# --- PostgreSQL: billing ------------------------------------------------------------------

BILLING = Database(
    "billing",
    "postgres",
    schemas=("public",),
    tables=(
        table(
            "accounts",
            "Billed companies",
            Col("company", "varchar(120)", lambda r: r.fake.company(), nullable=False),
            Col("contact_name", "varchar(120)", lambda r: r.fake.name()),
            Col("email", "varchar(200)", lambda r: r.fake.unique.company_email(), False, True),
            Col("phone", "varchar(40)", lambda r: r.fake.phone_number()),
            Col("billing_address", "text", lambda r: r.fake.address()),
            Col("tax_id", "varchar(12)", lambda r: r.fake.ein()),
        ),
        table(
            "account_owners",
            "Sole proprietors behind accounts",
            Col("account_id", "bigint", ref, nullable=False),
            Col("full_name", "varchar(120)", lambda r: r.fake.name()),
            Col("ssn", "char(11)", lambda r: r.fake.ssn()),
            Col("date_of_birth", "date", birth_date),
            Col("home_address", "text", lambda r: r.fake.address()),
            refs=(("account_id", "accounts"),),
        ),
        table(
            "plans",
            "Price plans",
            Col("code", "varchar(16)", code("PLAN-??##"), nullable=False),
            Col("name", "varchar(60)", lambda r: r.fake.bs().title()),
            Col("monthly_price", "numeric(10,2)", money),
        ),
        table(
            "subscriptions",
            "Accounts on plans",
            Col("account_id", "bigint", ref, nullable=False),
            Col("plan_id", "bigint", ref, nullable=False),
            Col("status", "varchar(12)", lambda r: r.rng.choice(("active", "paused", "ended"))),
            Col("started_at", "timestamp", ts),
            Col("ends_at", "timestamp", maybe(ts, 0.5)),
            refs=(("account_id", "accounts"), ("plan_id", "plans")),
        ),
        table(
            "invoices",
            "Invoices sent",
            Col("account_id", "bigint", ref, nullable=False),
            Col("invoice_number", "varchar(20)", lambda r: f"INV-2026-{r.i:06d}", False, True),
            Col("issued_on", "date", lambda r: ts(r).date()),
            Col("due_on", "date", lambda r: ts(r, 30).date()),
            Col("total", "numeric(12,2)", lambda r: money(r, 5000)),
            Col("currency", "char(3)", lambda r: r.rng.choice(("USD", "EUR"))),
            Col("status", "varchar(12)", lambda r: r.rng.choice(("open", "paid", "void"))),
            refs=(("account_id", "accounts"),),
        ),
        table(
            "invoice_lines",
            "Lines of invoices",
            Col("invoice_id", "bigint", ref, nullable=False),
            Col("description", "varchar(200)", lambda r: r.fake.catch_phrase()),
            Col("quantity", "integer", lambda r: r.rng.randint(1, 20)),
            Col("unit_price", "numeric(10,2)", money),
            refs=(("invoice_id", "invoices"),),
        ),
        table(
            "payment_methods",
            "Cards on file",
            Col("account_id", "bigint", ref, nullable=False),
            Col("card_holder", "varchar(120)", lambda r: r.fake.name()),
            Col("card_number", "varchar(19)", lambda r: r.fake.credit_card_number()),
            Col("card_expiry", "char(5)", lambda r: r.fake.credit_card_expire()),
            Col("fingerprint", "char(40)", lambda r: r.fake.sha1()),
            refs=(("account_id", "accounts"),),
        ),
        table(
            "bank_accounts",
            "Direct debit mandates",
            Col("account_id", "bigint", ref, nullable=False),
            Col("holder_name", "varchar(120)", lambda r: r.fake.name()),
            Col("iban", "varchar(34)", lambda r: r.fake.iban()),
            Col("bic", "varchar(11)", lambda r: r.fake.swift()),
            refs=(("account_id", "accounts"),),
        ),
        table(
            "payments",
            "Payments received",
            Col("invoice_id", "bigint", ref, nullable=False),
            Col("payment_method_id", "bigint", maybe(ref, 0.3)),
            Col("amount", "numeric(12,2)", lambda r: money(r, 5000)),
            Col("paid_at", "timestamp", ts),
            Col("processor_ref", "varchar(30)", lambda r: "ch_" + r.fake.pystr(24, 24)),
            refs=(("invoice_id", "invoices"), ("payment_method_id", "payment_methods")),
        ),
        table(
            "refunds",
            "Money returned",
            Col("payment_id", "bigint", ref, nullable=False),
            Col("amount", "numeric(12,2)", money),
            Col("reason", "text", note),
            refs=(("payment_id", "payments"),),
        ),
        table(
            "credit_notes",
            "Credits against invoices",
            Col("invoice_id", "bigint", ref, nullable=False),
            Col("number", "varchar(20)", lambda r: f"CN-{r.i:07d}"),
            Col("amount", "numeric(12,2)", money),
            Col("note", "text", maybe(note, 0.5)),
            refs=(("invoice_id", "invoices"),),
        ),
        table(
            "ledger_entries",
            "General ledger",
            Col("account_id", "bigint", ref, nullable=False),
            Col("entry_code", "varchar(16)", code("GL-####-###")),
            Col("amount", "numeric(14,2)", lambda r: money(r, 10_000)),
            Col("booked_at", "timestamp", ts),
            Col("checksum", "char(32)", lambda r: r.fake.md5()),
            refs=(("account_id", "accounts"),),
        ),
    ),
)

# --- PostgreSQL: analytics ----------------------------------------------------------------

ANALYTICS = Database(
    "analytics",
    "postgres",
    schemas=("raw", "marts"),
    tables=(
        table(
            "users",
            "Product users (raw export)",
            Col("email", "varchar(200)", lambda r: r.fake.email()),
            Col("full_name", "varchar(120)", lambda r: r.fake.name()),
            Col("country", "char(2)", lambda r: r.fake.country_code()),
            Col("signup_at", "timestamp", ts),
            Col("ip_address", "varchar(45)", lambda r: r.fake.ipv4_public()),
            schema="raw",
        ),
        table(
            "sessions",
            "Web sessions",
            Col("user_id", "bigint", ref),
            Col("started_at", "timestamp", ts),
            Col("user_agent", "text", lambda r: r.fake.user_agent()),
            Col("ip_address", "varchar(45)", lambda r: r.fake.ipv4_public()),
            schema="raw",
        ),
        table(
            "page_views",
            "Pages seen",
            Col("session_id", "bigint", ref),
            Col("url", "text", lambda r: r.fake.uri()),
            Col("referrer", "text", maybe(lambda r: r.fake.url())),
            Col("viewed_at", "timestamp", ts),
            schema="raw",
        ),
        table(
            "orders",
            "Orders (raw export)",
            Col("user_id", "bigint", ref),
            Col("order_ref", "varchar(20)", lambda r: f"ORD-{r.i:08d}"),
            Col("total", "numeric(12,2)", money),
            Col("ordered_at", "timestamp", ts),
            schema="raw",
        ),
        table(
            "events",
            "Tracked product events",
            Col("user_id", "bigint", ref),
            Col("event_name", "varchar(40)", lambda r: r.rng.choice(("login", "search", "buy"))),
            Col("properties", "text", lambda r: f'{{"q": "{r.fake.word()}"}}'),
            Col("occurred_at", "timestamp", ts),
            schema="raw",
        ),
        table(
            "experiments",
            "A/B test assignments",
            Col("user_id", "bigint", ref),
            Col("experiment", "varchar(40)", lambda r: r.fake.slug()),
            Col("variant", "char(1)", lambda r: r.rng.choice("AB")),
            schema="raw",
        ),
    ),
    views=(
        View(
            "user_orders",
            "SELECT u.id AS user_id, u.email, u.country, count(o.id) AS orders,"
            " coalesce(sum(o.total), 0) AS revenue"
            " FROM raw.users{s} u LEFT JOIN raw.orders{s} o ON o.user_id = u.id"
            " GROUP BY u.id, u.email, u.country",
            schema="marts",
        ),
        View(
            "daily_revenue",
            "SELECT o.ordered_at::date AS day, count(*) AS orders, sum(o.total) AS revenue"
            " FROM raw.orders{s} o GROUP BY o.ordered_at::date",
            schema="marts",
        ),
        View(
            "session_stats",
            "SELECT s.id AS session_id, s.user_id, count(p.id) AS page_views,"
            " max(p.viewed_at) AS last_view_at"
            " FROM raw.sessions{s} s LEFT JOIN raw.page_views{s} p ON p.session_id = s.id"
            " GROUP BY s.id, s.user_id",
            schema="marts",
        ),
        View(
            "user_activity",
            "WITH ev AS (SELECT user_id, count(*) AS events, max(occurred_at) AS last_event_at"
            " FROM raw.events{s} GROUP BY user_id)"
            " SELECT u.id AS user_id, u.full_name, u.email, ev.events, ev.last_event_at"
            " FROM raw.users{s} u JOIN ev ON ev.user_id = u.id",
            schema="marts",
        ),
        View(
            "high_value_customers",
            "SELECT user_id, email, revenue FROM marts.user_orders{s} WHERE revenue > 300",
            schema="marts",
        ),
        View(
            "country_revenue",
            "SELECT u.country, sum(o.total) AS revenue"
            " FROM raw.orders{s} o JOIN raw.users{s} u ON u.id = o.user_id GROUP BY u.country",
            schema="marts",
            materialized=True,
        ),
    ),
)

# --- MongoDB: crm -------------------------------------------------------------------------


def oid(r: Row) -> ObjectId:
    return ObjectId(r.rng.randbytes(12))


def when(r: Row) -> datetime:
    return ts(r).replace(tzinfo=UTC)


def postal(r: Row) -> dict[str, str]:
    f = r.fake
    return {
        "street": f.street_address(),
        "city": f.city(),
        "postcode": f.postcode(),
        "country": "US",
    }


def contact(r: Row) -> dict[str, Any]:
    f = r.fake
    doc: dict[str, Any] = {
        "_id": oid(r),
        "name": {"first": f.first_name(), "last": f.last_name()},
        "email": f.email(),
        "phones": [
            {"type": r.rng.choice(("mobile", "work")), "number": f.phone_number()}
            for _ in range(r.rng.randint(1, 2))
        ],
        "address": postal(r),
        "tags": r.rng.sample(["vip", "newsletter", "churn-risk", "partner", "b2b"], 2),
        "dob": datetime.combine(birth_date(r), datetime.min.time(), UTC),
        "notes": note(r),
        "created_at": when(r),
    }
    if r.rng.random() < 0.3:
        doc["ssn"] = f.ssn()
    return doc


CRM = Database(
    "crm",
    "mongodb",
    collections=(
        Collection("contacts", contact, unique=("email",), indexed=("address.postcode",)),
        Collection(
            "companies",
            lambda r: {
                "_id": oid(r),
                "name": r.fake.company(),
                "domain": r.fake.domain_name(),
                "employees": r.rng.randint(1, 5000),
                "account_code": r.fake.bothify("ACC-#####"),
                "address": postal(r),
                "industries": [r.fake.bs() for _ in range(2)],
            },
        ),
        Collection(
            "interactions",
            lambda r: {
                "_id": oid(r),
                "contact_email": r.fake.email(),
                "channel": r.rng.choice(("phone", "email", "chat")),
                "at": when(r),
                "notes": note(r),
                "attachments": [
                    {"filename": r.fake.file_name(), "sha1": r.fake.sha1()}
                    for _ in range(r.rng.randint(0, 2))
                ],
            },
            indexed=("contact_email",),
        ),
        Collection(
            "tickets",
            lambda r: {
                "_id": oid(r),
                "ticket_no": f"TCK-{r.i:06d}",
                "status": r.rng.choice(("open", "pending", "closed")),
                "requester": {"name": r.fake.name(), "email": r.fake.email()},
                "items": [
                    {"sku": r.fake.bothify("SKU-????-####").upper(), "qty": r.rng.randint(1, 4)}
                    for _ in range(r.rng.randint(1, 3))
                ],
                "comments": [
                    {"author": r.fake.user_name(), "body": note(r), "at": when(r)}
                    for _ in range(r.rng.randint(0, 2))
                ],
            },
            unique=("ticket_no",),
        ),
        Collection(
            "leads",
            lambda r: {
                "_id": oid(r),
                "full_name": r.fake.name(),
                "email": r.fake.email(),
                "phone": r.fake.phone_number(),
                "score": round(r.rng.random() * 100, 2),
                "utm": {"campaign": r.fake.slug(), "medium": r.rng.choice(("cpc", "email"))},
            },
        ),
        Collection(
            "campaigns",
            lambda r: {
                "_id": oid(r),
                "code": r.fake.bothify("CMP-##??").upper(),
                "name": r.fake.catch_phrase(),
                "budget": r.rng.randint(1000, 90_000),
                "audience": {"segments": ["vip", "b2b"], "countries": ["US", "CA"]},
                "starts_at": when(r),
            },
        ),
        Collection(
            "consents",
            lambda r: {
                "_id": oid(r),
                "email": r.fake.email(),
                "purposes": r.rng.sample(["marketing", "analytics", "profiling"], 2),
                "granted_at": when(r),
                "ip_address": r.fake.ipv4_public(),
                "user_agent": r.fake.user_agent(),
            },
        ),
        Collection(
            "notes",
            lambda r: {
                "_id": oid(r),
                "author": r.fake.user_name(),
                "body": note(r),
                "pinned": r.rng.random() < 0.1,
                "created_at": when(r),
            },
        ),
    ),
)

ESTATE = (SHOP, BILLING, ANALYTICS, CRM)


# --- wider estates --------------------------------------------------------------------------

ATTRIBUTE_TYPES = ("integer", "varchar(40)", "timestamp", "boolean", "double precision")


def _attribute(k: int) -> Col:
    """Generic column ``attr_<k>``: its values follow from the row id alone, so widening a
    table draws nothing from the seeded generators and leaves every other value unchanged."""
    kind = ATTRIBUTE_TYPES[(k - 1) % len(ATTRIBUTE_TYPES)]
    gens: dict[str, Gen] = {
        "integer": lambda r: (r.i * 7919 + k * 104_729) % 100_000,
        "varchar(40)": lambda r: f"{k:02d}-{r.i * 2_654_435_761 % 2**32:08x}",
        "timestamp": lambda r: EPOCH - timedelta(hours=(r.i * 13 + k) % 8760),
        "boolean": lambda r: (r.i + k) % 3 == 0,
        "double precision": lambda r: (r.i * 31 + k * 17) % 100_000 / 100,
    }
    return Col(f"attr_{k:02d}", kind, gens[kind])


def widen(db: Database, n: int) -> Database:
    """``db`` with ``n`` attribute columns after every table's columns and in every document."""
    if n == 0:
        return db
    extra = tuple(_attribute(k) for k in range(1, n + 1))

    def doc(gen: Callable[[Row], dict[str, Any]]) -> Callable[[Row], dict[str, Any]]:
        return lambda r: gen(r) | {c.name: c.gen(r) for c in extra}

    return replace(
        db,
        tables=tuple(replace(t, columns=t.columns + extra) for t in db.tables),
        collections=tuple(replace(c, doc=doc(c.doc)) for c in db.collections),
    )
