"""Review management: negative-review detection (`sentiment`), reply drafts (`drafts`), the approval
service (`service`) behind the review graph (`sajang.graphs.review.graph`)."""
