"""The demo store: business data, the CS manual and the demo logins, written once into an empty store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sajang import PACKAGE_DATA
from sajang.config import Settings
from sajang.db.demo import seed_demo_store
from sajang.db.engine import is_empty
from sajang.graphs.common.context import engine_for, store_policy
from sajang.knowledge.service import get_knowledge
from sajang.services.accounts import ensure_demo_users
from sajang.services.canned_replies import seed_demo_replies

MANUAL_DIR = PACKAGE_DATA / "manual"
DEMO_CUSTOMERS = 300
DEMO_SEED = 42


def seed_business_data(settings: Settings, customers: int | None = None, seed: int | None = None, *,
                       reset: bool = False, progress: Callable[[str], None] | None = None,
                       today: date | None = None) -> dict[str, Any]:
    """Customers, products, orders … of «사장님네 식탁», priced with the shop's store policy; dated relative
    to `today` (default: the real date), so a seed and a date give the same shop."""
    policy = store_policy(settings)
    customers = DEMO_CUSTOMERS if customers is None else customers
    seed = DEMO_SEED if seed is None else seed
    return seed_demo_store(engine_for(settings), customers=customers, seed=seed, today=today, progress=progress,
                           reset=reset, delivery_fee=policy.delivery_fee, free_shipping_threshold=policy.free_shipping_threshold)


def seed_everything(settings: Settings, customers: int | None = None, seed: int | None = None, *,
                    reset: bool = False, progress: Callable[[str], None] | None = None,
                    today: date | None = None) -> dict[str, Any]:
    """Business data + the manual (indexed for search) + demo users. Returns counts per part."""
    say = progress or (lambda _m: None)
    summary = seed_business_data(settings, customers, seed, reset=reset, progress=progress, today=today)
    say(f"importing the CS manual from {MANUAL_DIR}")
    manual = get_knowledge(settings).import_manual_dir(MANUAL_DIR)
    logins = ensure_demo_users(engine_for(settings))
    canned = seed_demo_replies(settings)
    return {**summary, "manual": manual, "demo_users": [username for _role, username, _pw in logins],
            "canned_replies": canned}


def prepare_demo(settings: Settings, progress: Callable[[str], None] | None = None,
                 today: date | None = None) -> list[tuple[str, str, str]]:
    """Seed the demo store only when the store is empty (dated relative to `today`, default the real date);
    return the demo logins that work."""
    engine = engine_for(settings)
    if is_empty(engine):
        (progress or (lambda _m: None))("empty store: creating the demo shop «사장님네 식탁»")
        seed_everything(settings, progress=progress, today=today)
    return ensure_demo_users(engine)
