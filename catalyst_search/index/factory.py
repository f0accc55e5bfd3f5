"""Pick the configured backend: the only module that imports both."""

from __future__ import annotations

from catalyst_search.index.contract import IndexReader, IndexWriter
from catalyst_search.index.meta import load_meta
from catalyst_search.settings import Settings


def open_reader(settings: Settings, *, processes: int = 0) -> IndexReader:
    """The reader for the configured backend; the embedded one queried from ``processes``
    helper processes (0: in this one)."""
    if settings.index_backend == "server":
        from catalyst_search.index.server.reader import ServerReader

        return ServerReader.connect(settings)
    if processes:
        from catalyst_search.index.embedded.process_reader import ProcessReader

        return ProcessReader(
            settings.index_dir,
            refresh_s=settings.index_refresh_s,
            processes=processes,
            search_threads=settings.index_search_threads,
        )
    from catalyst_search.index.embedded.reader import EmbeddedReader

    return EmbeddedReader(
        settings.index_dir,
        refresh_s=settings.index_refresh_s,
        search_threads=settings.index_search_threads,
    )


def recorded_encoder(settings: Settings, reader: IndexReader) -> tuple[str, str] | None:
    """(model, precision) of the dense vectors the index holds, as its first writer recorded
    them; None for an index not written yet (or written before the precision was recorded)."""
    from catalyst_search.index.server.reader import ServerReader

    if isinstance(reader, ServerReader):
        return reader.recorded_encoder()
    meta = load_meta(settings.index_dir, settings.collection)
    return (meta.dense_model, meta.dense_precision) if meta else None


def open_writer(settings: Settings) -> IndexWriter:
    """The writer for the configured backend; on the embedded one this takes the writer lock."""
    if settings.index_backend == "server":
        from catalyst_search.index.server.writer import ServerWriter

        return ServerWriter.connect(settings)
    from catalyst_search.index.embedded.writer import EmbeddedWriter

    return EmbeddedWriter.open(
        settings.index_dir,
        lock_timeout_s=settings.writer_lock_timeout_s,
        versions_kept=settings.versions_kept,
        search_threads=settings.index_search_threads,
    )
