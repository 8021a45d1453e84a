"""Knowledge base (知识库, KB): categories, articles with reviewed versions, search, sending, Q&A."""
