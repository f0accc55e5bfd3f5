"""Rerank tiers for premium search: Cohere, OpenAI embeddings, local embeddings, fused order."""
