"""Which seeder fills a fresh sandbox for a scenario: the one module that knows them all
(the fleet's seeder in fleet.py builds on scenarios.py, so neither may name the other)."""

from __future__ import annotations

from wizard.sandbox import scenarios
from wizard.sandbox.fleet import seed_fleet


def seed(name: str, account: str, region: str, now_ms: int, rng_seed: int = 20261126) -> None:
    """Fill moto's (freshly reset) backends with scenario ``name``."""
    scenarios.check_scenario(name)
    seeder = seed_fleet if name == "fleet" else scenarios.SEEDERS[name]
    scenarios.seed_with(seeder, account, region, now_ms, rng_seed)
