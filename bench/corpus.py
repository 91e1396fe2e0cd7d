"""Realistic agent observations and instructions for benchmarks: SQL results, shell output, web pages.

Texts are generated from templates with a seeded random source: result tables of business databases,
`ls`/`grep`/`ps`/`git` output, accessibility trees of issue-tracker and shop pages. `variant()` makes a
near-duplicate of a text (other numbers, ids, times), as revisited states in real trajectories are.
"""

from __future__ import annotations

import random
import re
from typing import Any

from env_runners.sql.table_text import format_table

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
    "Vera",
    "Wei",
    "Yara",
    "Zoe",
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
    "Bianchi",
    "Lopez",
    "Martin",
    "Larsen",
    "Costa",
    "Fischer",
    "Romano",
    "Weber",
    "Conti",
    "Petit",
]
CITIES = [
    "Berlin",
    "Paris",
    "Rome",
    "Madrid",
    "Lisbon",
    "Warsaw",
    "Vienna",
    "Prague",
    "Oslo",
    "Dublin",
    "Milan",
    "Lyon",
    "Porto",
    "Munich",
    "Hamburg",
]
WORDS = [
    "invoice",
    "payment",
    "refund",
    "shipment",
    "delay",
    "login",
    "error",
    "timeout",
    "dashboard",
    "export",
    "report",
    "filter",
    "search",
    "upload",
    "permission",
    "account",
    "billing",
    "subscription",
    "renewal",
    "crash",
    "memory",
    "cache",
    "index",
    "backup",
    "restore",
    "migration",
]
TABLES = {
    "customers": ["id", "first_name", "last_name", "city", "signup_date", "tier"],
    "orders": ["id", "customer_id", "order_date", "status", "total"],
    "invoices": ["id", "account", "issued_on", "amount", "paid"],
    "tickets": ["id", "title", "priority", "assignee", "opened"],
    "employees": ["id", "first_name", "last_name", "title", "salary"],
    "products": ["id", "name", "category", "price", "stock"],
}


def _value(rng: random.Random, column: str) -> object:
    if column == "id" or column.endswith("_id"):
        return rng.randint(1, 99999)
    if column in ("first_name", "assignee"):
        return rng.choice(FIRST)
    if column == "last_name":
        return rng.choice(LAST)
    if column in ("city", "account"):
        return rng.choice(CITIES)
    if column in ("signup_date", "order_date", "issued_on", "opened"):
        return f"202{rng.randint(2, 5)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if column in ("total", "amount", "price", "salary"):
        return round(rng.uniform(5, 9000), 2)
    if column in ("status", "tier", "priority", "paid", "category"):
        values: dict[str, list[Any]] = {
            "status": ["pending", "shipped", "delivered", "cancelled"],
            "tier": ["bronze", "silver", "gold"],
            "priority": ["low", "normal", "high", "urgent"],
            "paid": [0, 1],
            "category": ["Laptops", "Phones", "Audio", "Storage"],
        }
        return rng.choice(values[column])
    if column in ("title", "name"):
        return " ".join(rng.sample(WORDS, 3)).capitalize()
    return rng.randint(0, 500)


def sql_result(rng: random.Random) -> str:
    table = rng.choice(list(TABLES))
    columns = rng.sample(TABLES[table], k=rng.randint(2, len(TABLES[table])))
    rows = [[_value(rng, c) for c in columns] for _ in range(rng.randint(1, 12))]
    total = len(rows) if rng.random() < 0.6 else rng.randint(len(rows) + 1, 5000)
    return format_table(columns, rows, total, True)


def shell_output(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        lines = [f"total {rng.randint(8, 400)}"]
        for _ in range(rng.randint(2, 12)):
            name = f"{rng.choice(WORDS)}_{rng.randint(1, 99)}.{rng.choice(['txt', 'log', 'py', 'csv', 'md'])}"
            lines.append(
                f"-rw-r--r-- 1 {rng.choice(['root', 'app', 'dev'])} staff {rng.randint(10, 99999):>6} "
                f"Nov {rng.randint(1, 28):2d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} {name}"
            )
        return "\n".join(lines)
    if kind == 1:
        return "\n".join(
            f"src/{rng.choice(WORDS)}.py:{rng.randint(1, 900)}:    raise {rng.choice(WORDS).capitalize()}Error"
            f'("{rng.choice(WORDS)} {rng.choice(WORDS)}")'
            for _ in range(rng.randint(1, 8))
        )
    if kind == 2:
        lines = ["USER PID %CPU %MEM COMMAND"]
        lines += [
            f"{rng.choice(['root', 'app'])} {rng.randint(100, 60000)} "
            f"{rng.uniform(0, 90):.1f} {rng.uniform(0, 30):.1f} "
            f"{rng.choice(['python', 'nginx', 'postgres', 'redis-server', 'node'])} {rng.choice(WORDS)}"
            for _ in range(rng.randint(2, 9))
        ]
        return "\n".join(lines)
    changed = [f"\tmodified:   src/{rng.choice(WORDS)}/{rng.choice(WORDS)}.py" for _ in range(rng.randint(1, 6))]
    return (
        "On branch "
        + rng.choice(["main", "develop", f"fix-{rng.choice(WORDS)}"])
        + "\nChanges not staged for commit:\n"
        + "\n".join(changed)
    )


def web_page(rng: random.Random) -> str:
    site = rng.choice(["Issues · Tracker", "Orders · Shop admin", "Wiki · Handbook", "Inbox · Mail"])
    lines = [f"RootWebArea '{site}' [1]", "  navigation [2]"]
    lines += [f"    link '{w.capitalize()}' [{i}]" for i, w in enumerate(rng.sample(WORDS, 4), start=3)]
    lines.append(f"  heading '{' '.join(rng.sample(WORDS, 2)).capitalize()}' [9]")
    for i in range(rng.randint(2, 10)):
        lines.append(f"  row [{20 + i}]")
        lines.append(f"    link '#{rng.randint(100, 9999)} {' '.join(rng.sample(WORDS, 3))}' [{40 + i}]")
        lines.append(f"    StaticText '{rng.choice(FIRST)} · {rng.randint(1, 59)} minutes ago'")
    lines += [f"  textbox 'Search' [{90}]", f"  button '{rng.choice(['Submit', 'Save', 'New issue', 'Filter'])}' [91]"]
    return "\n".join(lines)


def observation(rng: random.Random) -> tuple[str, str]:
    """(environment, observation text)."""
    env, make = rng.choice([("sql", sql_result), ("shell", shell_output), ("web", web_page)])
    return env, make(rng)


def instruction(rng: random.Random, env: str) -> str:
    verbs = {
        "sql": ["List", "Count", "Find", "Show the total of"],
        "shell": ["Find", "Delete", "Archive", "Count the lines of"],
        "web": ["Open", "Close", "Comment on", "Assign"],
    }[env]
    nouns = {
        "sql": ["orders", "customers", "invoices", "tickets", "products"],
        "shell": ["log files", "python files", "backups", "reports"],
        "web": ["the issue", "the order", "the newest ticket", "the wiki page"],
    }[env]
    return f"{rng.choice(verbs)} {rng.choice(nouns)} about {' '.join(rng.sample(WORDS, 2))} in {rng.choice(CITIES)}"


_NUMBER = re.compile(r"\d+")


def variant(rng: random.Random, text: str) -> str:
    """A near-duplicate: the same state with a few numbers changed."""
    return _NUMBER.sub(lambda m: str(rng.randint(1, 99999)) if rng.random() < 0.15 else m.group(0), text)
