"""BFCL extraction from a wheel built in-process in the real package's layout."""

import json
import zipfile

import pytest

from fc_finetune.errors import DataFetchError
from fc_finetune.evaluation import bfcl_fetch


def _line(record):
    return json.dumps(record) + "\n"


def _make_wheel(path, *, extra=None):
    q = [{"id": f"simple_python_{i}", "question": [[{"role": "user", "content": f"q{i}"}]],
          "function": [{"name": "f", "parameters": {"type": "dict", "properties": {}}}]} for i in range(3)]
    a = [{"id": f"simple_python_{i}", "ground_truth": [{"f": {}}]} for i in range(2)]
    irr = [{"id": "irrelevance_0", "question": [[{"role": "user", "content": "hi"}]], "function": []}]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("bfcl_eval/__init__.py", "")
        zf.writestr("bfcl_eval/data/BFCL_v4_simple_python.json", "".join(map(_line, q)))
        zf.writestr("bfcl_eval/data/possible_answer/BFCL_v4_simple_python.json", "".join(map(_line, a)))
        zf.writestr("bfcl_eval/data/BFCL_v4_irrelevance.json", "".join(map(_line, irr)))
        zf.writestr("bfcl_eval/data/multi_turn_func_doc/math_api.json", _line({"name": "add"}))
        zf.writestr("bfcl_eval/data/BFCL_v4_format_sensitivity.json",
                    json.dumps({"simple_python": ["simple_python_0", "simple_python_2"]}, indent=4))
        zf.writestr("bfcl_eval/data/unused_datasets/question/BFCL_v4_sql.json", _line({"id": "sql_0"}))
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def test_extracts_questions_answers_and_index(tmp_path):
    wheel = _make_wheel(tmp_path / "bfcl_eval-1.0-py3-none-any.whl")
    folder = bfcl_fetch.fetch_bfcl(version="1.0", wheel=wheel)
    assert folder == bfcl_fetch.bfcl_dir("1.0")
    index = bfcl_fetch.load_index("1.0")
    cats = index["categories"]
    assert set(cats) == {"simple_python", "irrelevance"}
    assert cats["simple_python"] == {"file": "BFCL_v4_simple_python.json", "questions": 3,
                                     "possible_answers": 2, "questions_without_answer": 1}
    assert cats["irrelevance"]["possible_answers"] is None
    assert index["subsets"] == {"format_sensitivity": {"file": "BFCL_v4_format_sensitivity.json",
                                                       "ids_per_category": {"simple_python": 2}}}
    assert (folder / "possible_answer" / "BFCL_v4_simple_python.json").is_file()
    assert (folder / "multi_turn_func_doc" / "math_api.json").is_file()
    assert not (folder / "unused_datasets").exists()
    assert not list(folder.rglob("*.py")), "nothing of the package's code is extracted"


def test_refetch_is_a_no_op_unless_forced(tmp_path):
    wheel = _make_wheel(tmp_path / "w.whl")
    folder = bfcl_fetch.fetch_bfcl(version="1.0", wheel=wheel)
    stamp = (folder / "index.json").stat().st_mtime_ns
    bfcl_fetch.fetch_bfcl(version="1.0", wheel=tmp_path / "missing.whl")
    assert (folder / "index.json").stat().st_mtime_ns == stamp
    with pytest.raises(DataFetchError, match="does not exist"):
        bfcl_fetch.fetch_bfcl(version="1.0", wheel=tmp_path / "missing.whl", force=True)
    assert (folder / "index.json").is_file(), "a failed refetch keeps the good copy"


def test_bad_json_line_names_file_and_line(tmp_path):
    wheel = _make_wheel(tmp_path / "w.whl", extra={"bfcl_eval/data/BFCL_v4_parallel.json": '{"id": "p0"}\n{oops\n'})
    with pytest.raises(DataFetchError, match=r"BFCL_v4_parallel.json' line 2"):
        bfcl_fetch.fetch_bfcl(version="1.0", wheel=wheel)
    assert not bfcl_fetch.bfcl_dir("1.0").exists()


def test_unsafe_member_path_is_refused(tmp_path):
    wheel = _make_wheel(tmp_path / "w.whl", extra={"bfcl_eval/data/../../evil.txt": "x"})
    with pytest.raises(DataFetchError, match="unsafe path"):
        bfcl_fetch.fetch_bfcl(version="1.0", wheel=wheel)


def test_corrupt_wheel(tmp_path):
    bad = tmp_path / "w.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataFetchError, match="not a valid wheel"):
        bfcl_fetch.fetch_bfcl(version="1.0", wheel=bad)


def test_unfetched_index_says_how_to_fetch():
    with pytest.raises(DataFetchError, match="fc-finetune data fetch-bfcl"):
        bfcl_fetch.load_index("0.0")
