"""Negative reviews: detection (`sentiment.py`), reply drafts (`drafts.py`, `prompts.py`), the review graph
(`graph.py`, `state.py`, `context.py`, `nodes.py`: analyse → draft → approval → publish | reject) and the
use cases the CLI, REST and the hub's 리뷰 tab call (`service.py`)."""
