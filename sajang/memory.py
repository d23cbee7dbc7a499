"""Allocator settings that keep a process's resident memory down (issue #20: server RSS ≤ 600 MB).

Nothing here changes what any code computes: only how freed memory goes back to the system.

- Kiwi allocates through its own mimalloc (linked into `_kiwipiepy`), which by default asks for
  transparent huge pages and gives freed pages back only after a delay that an idle process never reaches:
  `kiwi_allocator_defaults()` (before `kiwipiepy` is imported) turns both off — ~30 MB less for Kiwi
  (~315 → ~285 MB), the same CPU per analysis;
- glibc gives every thread that allocates under contention an arena of its own (up to 8 × cores), and the
  40 request threads of a server leave each arena with its own free holes: `limit_malloc_arenas()` caps them
  at 2 (the GIL serialises the Python code that allocates most anyway);
- what loading leaves free (Kiwi's model build, the imports) stays in glibc's heaps until `trim_malloc()`
  returns it.

Each one is a no-op where it does not apply (not glibc, a variable already set by the operator).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

# read by mimalloc when `_kiwipiepy` is loaded; an operator's own value wins
KIWI_MIMALLOC = {"MIMALLOC_ALLOW_LARGE_OS_PAGES": "0", "MIMALLOC_PURGE_DELAY": "0"}
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def kiwi_allocator_defaults() -> None:
    """Kiwi's mimalloc without transparent huge pages and purging freed pages at once. Must run before the
    first `import kiwipiepy` of the process (mimalloc reads its options when the library is loaded)."""
    for name, value in KIWI_MIMALLOC.items():
        os.environ.setdefault(name, value)


@lru_cache(maxsize=1)
def _glibc() -> Any:
    """The C library when it is glibc (it has `malloc_trim` and `mallopt`), else None."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or None)
    except OSError:
        return None
    glibc = all(hasattr(libc, f) for f in ("gnu_get_libc_version", "malloc_trim", "mallopt"))
    return libc if glibc else None


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (`MALLOC_ARENA_MAX`, unless the environment sets it). Effective for the
    arenas created from now on: call it at the start of a process, before its threads."""
    libc = _glibc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def trim_malloc() -> None:
    """Give glibc's free heap memory back to the system (after loading, whose temporaries are freed)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
