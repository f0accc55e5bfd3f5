"""Blue-green collections behind one alias: the server backend serves ``CATALYST_COLLECTION``
as a Qdrant alias over a physical collection (``<name>__v1``, ``<name>__v2``...). A rebuild
fills a new physical collection while searches keep going to the old one, then one atomic
``update_collection_aliases`` call points the alias at the new one: every replica's next query
goes there (Qdrant resolves the alias on the server), and no half-built collection is served.
A plain collection named like the alias (one created before aliases) is served as it is.
"""

from __future__ import annotations

import re

from qdrant_client import QdrantClient, models

from catalyst_search.index.schema import DENSE_PRECISION
from catalyst_search.index.server.conversion import ensure_collection


def target(client: QdrantClient, name: str) -> str | None:
    """The physical collection ``name`` serves: its alias's target, or ``name`` itself when it
    is a plain collection; None when neither exists."""
    for alias in client.get_aliases().aliases:
        if alias.alias_name == name:
            return alias.collection_name
    return name if client.collection_exists(name) else None


def ensure_served(client: QdrantClient, name: str, precision: str = DENSE_PRECISION) -> str:
    """The physical collection behind ``name``, creating ``<name>__v1`` and the alias when
    neither exists yet."""
    current = target(client, name)
    if current is not None:
        return current
    first = f"{name}__v1"
    ensure_collection(client, first, precision)
    client.update_collection_aliases(
        change_aliases_operations=[
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=first, alias_name=name)
            )
        ]
    )
    return first


def _versions(client: QdrantClient, name: str) -> dict[str, int]:
    """The physical collections of ``name`` (``<name>__v<n>``) and their numbers."""
    taken = [c.name for c in client.get_collections().collections]
    pattern = re.compile(rf"{re.escape(name)}__v(\d+)")
    return {c: int(m.group(1)) for c in taken if (m := pattern.fullmatch(c))}


def leftovers(client: QdrantClient, name: str) -> list[str]:
    """``name``'s physical collections the alias does not serve: what a rebuild killed before
    it went live or before it dropped the old collection left behind."""
    served = target(client, name)
    return sorted(c for c in _versions(client, name) if c != served)


def next_collection(client: QdrantClient, name: str, precision: str = DENSE_PRECISION) -> str:
    """A new physical collection for a rebuild of ``name`` (created, empty, with its indexes)."""
    fresh = f"{name}__v{max(_versions(client, name).values(), default=0) + 1}"
    ensure_collection(client, fresh, precision)
    return fresh


def swap(client: QdrantClient, name: str, new: str) -> str | None:
    """Point alias ``name`` at ``new`` in one atomic call; returns the collection it served."""
    old = target(client, name)
    operations: list[models.DeleteAliasOperation | models.CreateAliasOperation] = []
    if old is not None and old != name:
        operations.append(
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=name))
        )
    elif old == name:
        raise ValueError(
            f"{name!r} is a plain collection, not an alias: re-create it as an alias "
            "(docs/deploy.md) before the first rebuild"
        )
    operations.append(
        models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=new, alias_name=name)
        )
    )
    client.update_collection_aliases(change_aliases_operations=operations)
    return old
