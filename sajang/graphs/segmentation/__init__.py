"""Customer segmentation: RFM segments per run, coupon proposals per segment, the owner's approval
(interrupt), coupons and queued messages. `graph.py` (wiring), `state.py`, `context.py`, `nodes.py`,
`policy.py` (offers and the rules for edits), `service.py` (what the CLI, REST and admin UI call)."""
