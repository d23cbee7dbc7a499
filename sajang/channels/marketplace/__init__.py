"""Marketplace API adapters for product Q&A: fetch unanswered questions, post approved answers.

Each adapter speaks its marketplace's documented REST format (the sources are cited in the adapter and in
its test) and is what `sajang.services.qna.sync` takes as a `MarketplaceClient`. Credentials come from the
settings (`SecretStr`: never printed or logged); errors name the marketplace and the HTTP status, never a
credential. Nothing is posted unless a person approved it (`sync` posts only approved answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sajang.errors import SajangError

if TYPE_CHECKING:
    from sajang.config import Settings
    from sajang.services.qna import MarketplaceClient


class MarketplaceError(SajangError):
    """A marketplace API refused or failed a call (the status and its message; never a credential)."""

    code = "marketplace_error"
    status_code = 502


def clients_from_settings(settings: Settings) -> list[MarketplaceClient]:
    """An adapter per marketplace whose credentials are all set."""
    from sajang.channels.marketplace.coupang import CoupangClient
    from sajang.channels.marketplace.naver import NaverCommerceClient

    clients: list[MarketplaceClient] = []
    if settings.naver_commerce_client_id and settings.naver_commerce_client_secret:
        clients.append(NaverCommerceClient(settings.naver_commerce_client_id,
                                           settings.naver_commerce_client_secret.get_secret_value(),
                                           base_url=settings.naver_commerce_base_url))
    if settings.coupang_vendor_id and settings.coupang_access_key and settings.coupang_secret_key:
        clients.append(CoupangClient(settings.coupang_vendor_id, settings.coupang_access_key,
                                     settings.coupang_secret_key.get_secret_value(),
                                     base_url=settings.coupang_base_url))
    return clients
