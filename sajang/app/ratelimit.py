"""Moved to `sajang.services.ratelimit` (below the UIs); this name stays for callers not yet updated."""

from sajang.services.ratelimit import RateLimited, TokenBucket, check, limiter, reset_all

__all__ = ["RateLimited", "TokenBucket", "check", "limiter", "reset_all"]
