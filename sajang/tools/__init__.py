"""LangChain tools and scoped queries the graphs call; scoped by the caller's identity."""
