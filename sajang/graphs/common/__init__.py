"""What every graph shares: checkpointers (`checkpoint.py`), the chat model (`llm.py`), the run context,
settings → engine and the store policy (`context.py`), Agent Inbox's interrupt and resume shapes (`inbox.py`)."""
