"""Builds the sample `shop` database: a small online shop with realistic, seeded data.

Nine related tables, a few thousand rows, real-looking names, places, prices and dates. The same seed
always gives the same file content, so tutorial results and evaluation gold answers are stable.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20241107
SCHEMA = """
CREATE TABLE categories (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT
);
CREATE TABLE suppliers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  country TEXT NOT NULL,
  contact_email TEXT
);
CREATE TABLE products (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  category_id INTEGER NOT NULL REFERENCES categories(id),
  supplier_id INTEGER NOT NULL REFERENCES suppliers(id),
  price REAL NOT NULL,
  stock INTEGER NOT NULL,
  discontinued INTEGER NOT NULL DEFAULT 0,
  added_on TEXT NOT NULL
);
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  email TEXT NOT NULL UNIQUE,
  city TEXT NOT NULL,
  country TEXT NOT NULL,
  signup_date TEXT NOT NULL,
  loyalty_tier TEXT NOT NULL CHECK (loyalty_tier IN ('bronze', 'silver', 'gold'))
);
CREATE TABLE employees (
  id INTEGER PRIMARY KEY,
  first_name TEXT NOT NULL,
  last_name TEXT NOT NULL,
  title TEXT NOT NULL,
  manager_id INTEGER REFERENCES employees(id),
  hire_date TEXT NOT NULL,
  salary INTEGER NOT NULL,
  region TEXT NOT NULL
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  employee_id INTEGER REFERENCES employees(id),
  order_date TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'shipped', 'delivered', 'cancelled', 'returned')),
  shipping_city TEXT NOT NULL,
  shipping_country TEXT NOT NULL
);
CREATE TABLE order_items (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES orders(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  quantity INTEGER NOT NULL,
  unit_price REAL NOT NULL,
  discount REAL NOT NULL DEFAULT 0
);
CREATE TABLE payments (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES orders(id),
  method TEXT NOT NULL,
  amount REAL NOT NULL,
  paid_at TEXT NOT NULL
);
CREATE TABLE reviews (
  id INTEGER PRIMARY KEY,
  product_id INTEGER NOT NULL REFERENCES products(id),
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
  review_date TEXT NOT NULL,
  title TEXT NOT NULL
);
CREATE INDEX idx_orders_customer ON orders(customer_id);
CREATE INDEX idx_items_order ON order_items(order_id);
CREATE INDEX idx_items_product ON order_items(product_id);
"""

FIRST = [
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Klara",
    "Luca",
    "Maria",
    "Noah",
    "Olivia",
    "Paul",
    "Rosa",
    "Samir",
    "Tara",
    "Ugo",
    "Vera",
    "Wei",
    "Yara",
    "Zoe",
    "Aisha",
    "Bruno",
    "Chloe",
    "Diego",
    "Emma",
    "Farid",
    "Hana",
    "Ivan",
    "Julia",
    "Kenji",
    "Lina",
    "Marco",
    "Nina",
    "Omar",
    "Priya",
    "Rafael",
    "Sofia",
    "Tom",
]
LAST = [
    "Schmidt",
    "Rossi",
    "Garcia",
    "Dubois",
    "Novak",
    "Jensen",
    "Silva",
    "Kowalski",
    "Müller",
    "Bianchi",
    "Lopez",
    "Martin",
    "Horvat",
    "Larsen",
    "Costa",
    "Nowak",
    "Fischer",
    "Romano",
    "Fernandez",
    "Bernard",
    "Kovac",
    "Nielsen",
    "Pereira",
    "Wagner",
    "Ricci",
    "Moreno",
    "Laurent",
    "Berg",
    "Santos",
    "Weber",
    "Conti",
    "Navarro",
    "Petit",
    "Lund",
    "Almeida",
    "Becker",
    "Greco",
    "Ortiz",
    "Roux",
    "Holm",
]
CITIES = {
    "Germany": ["Berlin", "Hamburg", "Munich", "Cologne"],
    "France": ["Paris", "Lyon", "Marseille"],
    "Italy": ["Rome", "Milan", "Turin"],
    "Spain": ["Madrid", "Barcelona", "Valencia"],
    "Netherlands": ["Amsterdam", "Rotterdam", "Utrecht"],
    "Poland": ["Warsaw", "Krakow"],
    "Denmark": ["Copenhagen", "Aarhus"],
    "Portugal": ["Lisbon", "Porto"],
}
CATEGORIES = {
    "Laptops": (
        "Portable computers",
        ["UltraBook 13", "ProBook 15", "WorkStation 17", "AirLite 14", "GamerX 16", "StudentBook 11"],
    ),
    "Phones": (
        "Smartphones and accessories",
        ["Pixelon 8", "Nova S", "Nova S Max", "Lumo 5", "Orbit Mini", "Orbit Pro"],
    ),
    "Audio": (
        "Headphones and speakers",
        ["QuietComfort Buds", "BassBox Speaker", "StudioPhones 700", "SoundBar 2", "RunBuds", "HiFi Amp"],
    ),
    "Monitors": ("Displays", ["View 24", "View 27 QHD", "UltraWide 34", "Portable 15", "ProColor 32"]),
    "Storage": (
        "Drives and memory cards",
        ["SSD 1TB", "SSD 2TB", "HDD 4TB", "USB Stick 128GB", "SD Card 256GB", "NAS Duo"],
    ),
    "Accessories": (
        "Cables, chargers and cases",
        ["USB-C Cable", "65W Charger", "Laptop Sleeve", "Wireless Mouse", "Mech Keyboard", "Webcam HD", "Phone Case"],
    ),
    "Smart Home": (
        "Connected devices for the home",
        ["Smart Plug", "Thermostat T3", "Doorbell Cam", "Light Strip", "Hub Mini"],
    ),
    "Gaming": (
        "Consoles and controllers",
        ["Controller Pro", "Racing Wheel", "Headset G5", "Console S", "Arcade Stick"],
    ),
}
PRICE = {
    "Laptops": (549, 2399),
    "Phones": (199, 1299),
    "Audio": (29, 499),
    "Monitors": (129, 899),
    "Storage": (9, 449),
    "Accessories": (7, 129),
    "Smart Home": (19, 249),
    "Gaming": (39, 549),
}
SUPPLIERS = [
    ("Nordtech GmbH", "Germany"),
    ("Lumen SA", "France"),
    ("Vortex Srl", "Italy"),
    ("Iberia Components", "Spain"),
    ("Delta Devices BV", "Netherlands"),
    ("Wisla Electronics", "Poland"),
    ("Fjord Audio ApS", "Denmark"),
    ("Atlantico Lda", "Portugal"),
    ("Baltic Parts", "Poland"),
    ("Alpine Systems", "Germany"),
]
TITLES = ["Sales Associate", "Senior Sales Associate", "Account Manager"]
STATUSES = ["delivered"] * 14 + ["shipped"] * 3 + ["pending"] * 2 + ["cancelled", "returned"]
REVIEW_TITLES = {
    5: ["Excellent", "Love it", "Perfect for me"],
    4: ["Very good", "Solid choice", "Happy with it"],
    3: ["Okay", "Does the job", "Average"],
    2: ["Disappointing", "Not great"],
    1: ["Broke quickly", "Do not buy"],
}


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _fill(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.executemany(
        "INSERT INTO categories VALUES (?, ?, ?)",
        [(i, name, desc) for i, (name, (desc, _)) in enumerate(CATEGORIES.items(), start=1)],
    )
    conn.executemany(
        "INSERT INTO suppliers VALUES (?, ?, ?, ?)",
        [(i, n, c, f"orders@{n.split()[0].lower()}.example") for i, (n, c) in enumerate(SUPPLIERS, start=1)],
    )
    products: list[tuple[Any, ...]] = []
    for cat_id, (cat, (_, names)) in enumerate(CATEGORIES.items(), start=1):
        low, high = PRICE[cat]
        for name in names:
            for edition in ("", " (2024)", " (2025)"):
                if edition and rng.random() < 0.45:
                    continue
                price = round(rng.uniform(low, high), 0) - 0.01
                products.append(
                    (
                        len(products) + 1,
                        name + edition,
                        cat_id,
                        rng.randint(1, len(SUPPLIERS)),
                        price,
                        rng.choice([0, 0, rng.randint(1, 9)]) if rng.random() < 0.15 else rng.randint(10, 400),
                        1 if rng.random() < 0.06 else 0,
                        _day(rng, date(2021, 1, 1), date(2025, 6, 30)).isoformat(),
                    )
                )
    conn.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?)", products)
    customers, emails = [], set()
    for i in range(1, 901):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country = rng.choice(list(CITIES))
        email = (
            f"{first}.{last}".lower().replace("ü", "ue")
            + (f"{i}" if f"{first}.{last}" in emails else "")
            + "@mail.example"
        )
        emails.add(f"{first}.{last}")
        tier = rng.choices(["bronze", "silver", "gold"], weights=[6, 3, 1])[0]
        customers.append(
            (
                i,
                first,
                last,
                email,
                rng.choice(CITIES[country]),
                country,
                _day(rng, date(2021, 1, 1), date(2025, 9, 30)).isoformat(),
                tier,
            )
        )
    conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", customers)
    employees: list[tuple[int, str, str, str, int | None, str, int, str]] = [
        (1, "Helena", "Vogt", "Head of Sales", None, "2019-03-01", 98000, "Europe")
    ]
    regions = ["North", "South", "West", "East"]
    for i, region in enumerate(regions, start=2):
        employees.append(
            (
                i,
                rng.choice(FIRST),
                rng.choice(LAST),
                "Regional Manager",
                1,
                _day(rng, date(2019, 6, 1), date(2021, 6, 1)).isoformat(),
                rng.randrange(70000, 86000, 500),
                region,
            )
        )
    for i in range(6, 26):
        region_index = rng.randrange(len(regions))
        employees.append(
            (
                i,
                rng.choice(FIRST),
                rng.choice(LAST),
                rng.choice(TITLES),
                2 + region_index,
                _day(rng, date(2020, 1, 1), date(2025, 3, 1)).isoformat(),
                rng.randrange(38000, 64000, 500),
                regions[region_index],
            )
        )
    conn.executemany("INSERT INTO employees VALUES (?, ?, ?, ?, ?, ?, ?, ?)", employees)
    orders: list[tuple[Any, ...]] = []
    items: list[tuple[Any, ...]] = []
    payments: list[tuple[Any, ...]] = []
    reviews: list[tuple[Any, ...]] = []
    for order_id in range(1, 2601):
        customer = customers[rng.randrange(len(customers))]
        signup = date.fromisoformat(customer[6])
        when = _day(rng, max(signup, date(2022, 1, 1)), date(2025, 10, 31)) if signup <= date(2025, 10, 31) else signup
        status = rng.choice(STATUSES)
        employee = rng.choice(employees[5:])[0] if rng.random() < 0.8 else None
        orders.append((order_id, customer[0], employee, when.isoformat(), status, customer[4], customer[5]))
        total = 0.0
        for product in rng.sample(products, k=rng.choices([1, 2, 3, 4], weights=[5, 4, 2, 1])[0]):
            quantity = rng.choices([1, 2, 3, 5], weights=[12, 4, 2, 1])[0]
            discount = rng.choice([0, 0, 0, 0.05, 0.1, 0.15])
            items.append((len(items) + 1, order_id, product[0], quantity, product[4], discount))
            total += quantity * product[4] * (1 - discount)
            if status == "delivered" and rng.random() < 0.22:
                rating = rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 5])[0]
                reviews.append(
                    (
                        len(reviews) + 1,
                        product[0],
                        customer[0],
                        rating,
                        (when + timedelta(days=rng.randint(3, 40))).isoformat(),
                        rng.choice(REVIEW_TITLES[rating]),
                    )
                )
        if status != "cancelled":
            paid = datetime.combine(when, datetime.min.time()) + timedelta(minutes=rng.randint(1, 600))
            payments.append(
                (
                    len(payments) + 1,
                    order_id,
                    rng.choice(["card", "card", "card", "paypal", "bank_transfer"]),
                    round(total, 2),
                    paid.isoformat(timespec="minutes"),
                )
            )
    conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", orders)
    conn.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?, ?, ?)", items)
    conn.executemany("INSERT INTO payments VALUES (?, ?, ?, ?, ?)", payments)
    conn.executemany("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?)", reviews)


def build(path: Path) -> Path:
    """Writes the sample database to `path` atomically (a concurrent builder never sees a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        conn.executescript(SCHEMA)
        _fill(conn, random.Random(SEED))
        conn.commit()
        conn.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def ensure(data_dir: Path) -> Path:
    """The sample database under the data directory, built on first use."""
    path = Path(data_dir) / "envs" / "sql" / "shop.db"
    return path if path.exists() else build(path)
