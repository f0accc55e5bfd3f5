"""Dense and sparse encoders. Ingestion and search both encode through here (decision 4)."""
