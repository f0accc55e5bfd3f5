"""CatalystIndex search side: the index contract, encoders, retrieval and the HTTP service."""

__version__ = "0.1.0"
