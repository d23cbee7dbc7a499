"""The AI manager for the owner: read-only tools over the dashboard's queries, a chat-model tool-calling
loop, and offline an intent router over the same tools."""
