"""On the embedded backend each collection has its own index folder: a new collection (the way
docs/performance.md moves to the int8 encoder) never writes into another's shard, and each keeps
its own encoder record."""

from __future__ import annotations

from catalyst_search.index.embedded.reader import EmbeddedReader
from catalyst_search.index.factory import open_writer
from catalyst_search.index.filters import tenant_filter
from catalyst_search.index.meta import IndexMeta, load_meta, save_meta
from catalyst_search.settings import load_settings
from tests.conftest import icd_records
from tests.helpers.index import points_from_records


def test_each_collection_writes_its_own_index(tmp_path, dense, sparse):
    default = load_settings(home=tmp_path)
    trial = load_settings(home=tmp_path, collection="int8_trial")
    assert default.index_dir == tmp_path / "index"  # where it always was
    assert trial.index_dir == tmp_path / "index-int8_trial"
    records = icd_records(limit=12)
    for settings, kept, precision in ((default, 12, "fp32"), (trial, 5, "int8")):
        with open_writer(settings) as writer:
            writer.upsert(
                points_from_records(records[:kept], tenant="t", dense=dense, sparse=sparse)
            )
            writer.publish()
        meta = IndexMeta(bm25_avg_len=16.0, dense_model="minilm", dense_precision=precision)
        save_meta(settings.index_dir, settings.collection, meta)
    for settings, chunks, precision in ((default, 12, "fp32"), (trial, 5, "int8")):
        reader = EmbeddedReader(settings.index_dir)
        try:
            assert reader.count(tenant_filter("t")) == chunks
        finally:
            reader.close()
        held = load_meta(settings.index_dir, settings.collection)
        assert held is not None and held.dense_precision == precision


def test_a_collection_recorded_in_the_shared_folder_before_it_had_its_own_stays_there(tmp_path):
    shared = tmp_path / "index"
    meta = IndexMeta(bm25_avg_len=16.0, dense_model="minilm", dense_precision="fp32")
    save_meta(shared, "custom", meta)  # written by a version that kept every collection here
    assert load_settings(home=tmp_path, collection="custom").index_dir == shared
    assert load_settings(home=tmp_path, collection="fresh").index_dir == tmp_path / "index-fresh"
