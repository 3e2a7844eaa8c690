import csv
import os
import threading

import pytest

from nbviz.labelling import CSV_NAME, LabelStore, check_label, write_new_file


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "..", ".hidden", "con", "x" * 65, "trailing.", "a\\b", "<b>"])
def test_unsafe_labels_are_refused(bad):
    with pytest.raises(ValueError, match="not a safe file name"):
        check_label(bad)


@pytest.mark.parametrize("good", ["cat", "Cat 2", "dog_small", "v1.2", "9-lives"])
def test_safe_labels(good):
    assert check_label(good) == good


def test_assign_writes_files_and_csv(tmp_path):
    store = LabelStore(tmp_path / "labels")

    def write(i, folder):
        return write_new_file(folder, f"{i:06d}", ".txt", lambda p: p.write_text(str(i)))

    assert store.assign([3, 5], "cat", write) == 2
    assert (tmp_path / "labels" / "cat" / "000003.txt").read_text() == "3"
    rows = list(csv.reader((tmp_path / "labels" / CSV_NAME).open()))
    assert rows[0] == ["index", "label", "time", "file", "source"]
    assert [r[0] for r in rows[1:]] == ["3", "5"] and rows[1][3] == os.path.join("cat", "000003.txt")
    # Labelling again never overwrites: the existing file stays as it was.
    (tmp_path / "labels" / "cat" / "000003.txt").write_text("original")
    store.assign([3], "cat", write)
    assert (tmp_path / "labels" / "cat" / "000003.txt").read_text() == "original"
    assert store.counts() == {"cat": 2}
    df = store.frame()
    assert list(df.columns) == ["index", "label", "time"] and len(df) == 3
    assert store.existing_labels() == ["cat"]
    # No temporary or partial files are left behind.
    assert sorted(p.name for p in (tmp_path / "labels" / "cat").iterdir()) == ["000003.txt", "000005.txt"]


def test_the_csv_records_the_source_and_an_older_header_keeps_its_columns(tmp_path):
    store = LabelStore(tmp_path / "new")
    store.assign([2], "cat", source=lambda i: f"/data/img{i}.jpg")
    rows = list(csv.reader((tmp_path / "new" / CSV_NAME).open()))
    assert rows[1][0] == "2" and rows[1][4] == "/data/img2.jpg"
    old = tmp_path / "old"
    old.mkdir()
    (old / CSV_NAME).write_text("index,label,time,file\n1,dog,0.000,\n")
    LabelStore(old).assign([4], "cat", source=lambda i: "x.png")
    rows = list(csv.reader((old / CSV_NAME).open()))
    assert [len(r) for r in rows] == [4, 4, 4] and rows[2][:2] == ["4", "cat"]


def test_failed_write_leaves_no_partial_file(tmp_path):
    def broken(path):
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_new_file(tmp_path, "x", ".png", broken)
    assert list(tmp_path.iterdir()) == []


def test_symlinked_label_folder_outside_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "labels"
    root.mkdir()
    (root / "cat").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="outside label_dir"):
        LabelStore(root).assign([1], "cat", lambda i, f: None)
    assert list(outside.iterdir()) == []


def test_label_dir_that_is_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    with pytest.raises(ValueError, match="label_dir must be a folder"):
        LabelStore(f)


def test_concurrent_writers_never_overwrite(tmp_path):
    results = []

    def go(tag):
        results.append(write_new_file(tmp_path, "same", ".txt", lambda p: p.write_text(tag)))

    threads = [threading.Thread(target=go, args=(str(i),)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(r is not None for r in results) == 1
    assert len(list(tmp_path.iterdir())) == 1
