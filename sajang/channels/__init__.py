"""Adapters for where customers write outside the app: the marketplaces' product Q&A (more to come).

A channel sits beside the UIs: it calls the service API (`sajang.services`), which never imports it."""
