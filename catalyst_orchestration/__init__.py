"""CatalystIndex ingestion: the Dagster code location."""
