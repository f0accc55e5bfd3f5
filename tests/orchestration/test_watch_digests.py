"""What a watch sensor digests to see that a source changed: a folder walked one folder at a
time, an S3 listing read as it streams, both up to their cap."""

from __future__ import annotations


def test_an_s3_digest_streams_the_listing_and_stops_at_its_cap(monkeypatch):
    from catalyst_orchestration.defs.acquisition import watching

    monkeypatch.setattr(watching, "MAX_DIGESTED", 3)
    read = []

    def listing(count: int):  # S3 lists by key; a page at a time
        for n in range(count):
            read.append(n)
            yield {"Key": f"docs/{n:04d}.md", "ETag": f'"e{n}"', "Size": n}

    capped = watching.s3_digest(listing(1_000_000))
    assert read == [0, 1, 2, 3]  # nothing held or read past the cap (the 4th ends it)
    assert capped == watching.s3_digest(listing(3))
    assert capped != watching.s3_digest(listing(2))


def test_the_s3_listing_is_read_a_page_at_a_time_as_the_digest_needs_it(monkeypatch):
    from catalyst_orchestration.defs.acquisition import watching
    from catalyst_orchestration.lib.sources.s3 import list_objects

    monkeypatch.setattr(watching, "MAX_DIGESTED", 1500)
    fetched = []

    class Paginator:
        def paginate(self, **_: str):  # S3 answers 1,000 keys a page, in key order
            for page in range(1000):
                fetched.append(page)
                yield {"Contents": [{"Key": f"docs/{page:04d}/{n:04d}.md", "ETag": '"e"',
                                    "Size": 1} for n in range(1000)]}  # fmt: skip

    class Client:
        def get_paginator(self, name: str) -> Paginator:
            assert name == "list_objects_v2"
            return Paginator()

    watching.s3_digest(list_objects(Client(), "s3://bucket/docs"))
    assert fetched == [0, 1]  # not the other 998 pages


def test_a_folder_digest_counts_visible_files_only_folder_by_folder(tmp_path, monkeypatch):
    from catalyst_orchestration.defs.acquisition import watching

    monkeypatch.setattr(watching, "MAX_DIGESTED", 2)
    (tmp_path / ".git").mkdir()
    for name in ("a", "b", "c"):  # sorts first, and would take every place
        (tmp_path / ".git" / name).write_text("x")
    (tmp_path / "sub").mkdir()
    for path in ("x.md", "sub/y.md", "sub/z.md"):
        (tmp_path / path).write_text("text")
    before = watching.folder_digest(str(tmp_path))
    (tmp_path / "sub" / "z.md").write_text("changed, past the cap")
    assert watching.folder_digest(str(tmp_path)) == before
    (tmp_path / "sub" / "y.md").write_text("changed, within the cap")
    after = watching.folder_digest(str(tmp_path))
    assert after != before
    (tmp_path / ".git" / "a").write_text("a hidden file, changed")
    assert watching.folder_digest(str(tmp_path)) == after
