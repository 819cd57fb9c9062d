"""Provenance helpers that need no pipeline run: container digests and lineage files."""

from __future__ import annotations

import hashlib
import os

from monkeys import provenance


def test_apptainer_image_is_hashed_once_and_rehashed_when_it_changes(tmp_path, monkeypatch):
    image = tmp_path / "workflow.sif"
    image.write_bytes(b"SIF image bytes")
    calls = []
    real = provenance.sha256_file
    monkeypatch.setattr(provenance, "sha256_file", lambda p: calls.append(p) or real(p))
    cache = tmp_path / "cache"
    expected = "sha256:" + hashlib.sha256(b"SIF image bytes").hexdigest()
    assert provenance.image_digest(image, cache) == expected
    assert provenance.image_digest(image, cache) == expected
    assert len(calls) == 1  # the second answer came from the cache
    image.write_bytes(b"another image")
    os.utime(image, ns=(1, 1))
    assert provenance.image_digest(image, cache) == ("sha256:" + hashlib.sha256(b"another image").hexdigest())


def test_container_records_the_apptainer_digest(tmp_path, monkeypatch):
    image = tmp_path / "workflow.sif"
    image.write_bytes(b"SIF")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("MONKEYS_IMAGE_DIGEST", raising=False)
    monkeypatch.setenv("APPTAINER_CONTAINER", str(image))
    info = provenance.container()
    assert info == {
        "runtime": "apptainer",
        "image": str(image),
        "digest": "sha256:" + hashlib.sha256(b"SIF").hexdigest(),
    }
    monkeypatch.setenv("MONKEYS_IMAGE_DIGEST", "sha256:given")  # a launcher's word wins
    assert provenance.container()["digest"] == "sha256:given"


def test_lineage_file_is_the_rendered_tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("source")
    (tmp_path / "b.txt").write_text("made from a")
    record = {
        "artifact": provenance.file_record("b.txt"),
        "rule": "make_b",
        "inputs": [provenance.file_record("a.txt")],
    }
    provenance.write_record(record, provenance.record_path("b.txt"))
    provenance.write_lineage("b.txt", "b.txt.lineage.txt")
    lines = (tmp_path / "b.txt.lineage.txt").read_text().splitlines()
    assert lines[0].startswith("lineage of b.txt")
    assert lines[2].startswith("b.txt  [make_b]") and lines[3].startswith("└─ a.txt  [source]")
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, no temp file left
