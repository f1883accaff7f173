"""Demo data for `manage.py seed_demo`: each area that has demo data registers a seeder in its demo.py with
`@demo_seeder(order=…)`; the command runs them in that order in one transaction. The platform imports no feature
app: the seeders are found by module name (engage.core.discovery).

A seeder returns a Counter of the rows it created and must be idempotent: it creates what is missing and never
changes or deletes a row, so `make run` can seed on every start.
"""

import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from engage.core.discovery import area_modules


@dataclass
class DemoRun:
    """What one `seed_demo` run did so far; seeders that report more than created rows write here."""

    created: Counter = field(default_factory=Counter)
    found: Counter = field(default_factory=Counter)
    report_kinds: list[str] = field(default_factory=list)  # kinds the summary lists, created and found
    notes: list[str] = field(default_factory=list)  # lines printed after the summary (the demo log-ins)
    warnings: list[str] = field(default_factory=list)

    def tally(self, kind: str, created: int, total: int) -> None:
        self.created[kind] += created
        self.found[kind] += total - created


@dataclass(frozen=True)
class DemoSeeder:
    order: int
    name: str
    seed: Callable
    takes_run: bool


_SEEDERS: dict[str, DemoSeeder] = {}


def demo_seeder(*, order: int, takes_run: bool = False):
    """Registers the decorated function as a seeder; `takes_run` seeders are called with the DemoRun."""

    def register(fn):
        name = f"{fn.__module__}.{fn.__qualname__}"
        _SEEDERS[name] = DemoSeeder(order=order, name=name, seed=fn, takes_run=takes_run)
        return fn

    return register


def demo_seeders() -> list[DemoSeeder]:
    """Every registered seeder, in order (the areas' demo modules are imported first)."""
    for module in area_modules("demo"):
        importlib.import_module(module)
    return sorted(_SEEDERS.values(), key=lambda seeder: (seeder.order, seeder.name))


def demo_seed_all() -> DemoRun:
    """Runs every seeder in order; the caller holds the transaction."""
    run = DemoRun()
    for seeder in demo_seeders():
        created = seeder.seed(run) if seeder.takes_run else seeder.seed()
        run.created.update(created or {})
    return run
