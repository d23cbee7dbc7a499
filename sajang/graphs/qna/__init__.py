"""Product Q&A: answering a marketplace product question with the product as context."""
