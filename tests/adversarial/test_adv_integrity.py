"""grader.integrity and grader.notebook_structure: what the static scan flags for the
instructor, what the structure notes tell the student, and that the course's own notebooks raise
neither (no false alarms)."""

from __future__ import annotations

from pathlib import Path

import helpers
import nbformat
import pytest

from grader import code_cells, integrity, notebook_structure
from grader.course import exercises_dir, solutions_dir


def nb_of(*sources: str, markdown: dict[int, str] | None = None) -> nbformat.NotebookNode:
    nb = helpers.build_notebook(sources)
    for index, text in sorted((markdown or {}).items()):
        nb.cells.insert(index, nbformat.v4.new_markdown_cell(text))
    return nb


FLAGGED = {
    "import grader": "imports the grader",
    "from grader.models import points_for": "imports the grader",
    "import cnn_grader.api as g": "imports the grader",
    "m = __import__('grader')": "imports the grader",
    "import importlib\nimportlib.import_module('grader.checks')": "imports the grader",
    "src = open('/work/main/solutions/ex01_convolution.ipynb').read()": "reference solutions",
    "import os\np = os.path.join('..', '..', 'solutions')": "reference solutions",
    "import pathlib\nprint(pathlib.Path('../secret.txt').read_text())": "outside its own folder",
    "d = __cnn_grader_probe__": "probe",
    "import os\nos.listdir('.cnn_grader_probe/in')": "probe",
    "import gc\nobjs = gc.get_objects()": "gc.get_objects",
    "import sys\ng = sys.modules['grader']": "sys.modules['grader']",
    "import sys\nf = sys._getframe(1)": "call stack",
    "get_ipython().events.register('post_run_cell', print)": "event hook",
    "import numpy as np\nnp.allclose = lambda *a, **k: True": "replaces `np.allclose`",
    "import builtins\nbuiltins.open = None": "replaces `builtins.open`",
    "import keras\nclass M(keras.Model):\n    def predict(self, x):\n        return x": "overrides predict()",
    "!ls /work/main/solutions\nimport grader": "imports the grader",  # IPython syntax kept
    "def f(:\n    import grader": "imports the grader",  # does not parse: regex fallback
    # Keras' saving patched: the grader saves with the original, kept before the notebook ran
    "import keras\nsetattr(keras.Model, 'save', lambda self, p: None)": "setattr(keras.Model, 'save', …)`: Keras' saving patched",
    "import keras\nkeras.saving.save_model = print": "replaces `keras.saving.save_model`",
    "from keras.src.saving import saving_lib\nsaving_lib.save_model = print": "replaces `saving_lib.save_model`: Keras' saving patched",
    "from keras import Model\nModel.save = print": "replaces `Model.save`: Keras' saving",
    "import keras\ntype.__setattr__(keras.Sequential, 'save', print)": "type.__setattr__",
    "import keras\nvars(keras.Model)['save'] = print": "changes `keras.Model.__dict__`",
    "import keras\nkeras.Model.__dict__.update(save=print)": "changes `keras.Model.__dict__`",
    "cnn_model.save = lambda path: None": "replaces `cnn_model.save`: Keras' saving patched",
    # training on test data (validation on it is fine: see below)
    "(a, b), (c, d) = keras.datasets.mnist.load_data()\nm.fit(c / 255, d)": "trains on test data: `m.fit(c / 255, d)` uses c, d",
    "model.fit(x_test, y_test, epochs=3)": "trains on test data",
    "model.fit(x=x_test, y=y_test)": "trains on test data",
    "model.train_on_batch(x_test[:32], y_test[:32])": "trains on test data",
    "import numpy as np\nx_all = np.concatenate([x_train, x_test])\nmodel.fit(x_all, y_all)": "joins training and test data: `np.concatenate([x_train, x_test])`",
    "import tensorflow as tf\nds = tf.data.Dataset.from_tensor_slices((x_test, y_test))\n"
    "model.fit(ds.batch(32), epochs=2)": "trains on test data: `model.fit(ds.batch(32), epochs=2)`",
}


@pytest.mark.parametrize("source", sorted(FLAGGED))
def test_scan_flags(source: str) -> None:
    findings = integrity.scan(nb_of("x = 1", source))
    assert findings, source
    assert all(f.startswith("cell 2: ") for f in findings), findings
    assert any(FLAGGED[source] in f for f in findings), findings


@pytest.mark.parametrize(
    "source",
    [
        "import numpy as np\nx = np.zeros((3, 3))\nprint('the solutions are below')",
        "with open('data.csv') as fh:\n    text = fh.read()",
        "url = 'https://example.org/a/b'\nsep = ' / '.join(['a', 'b'])",
        "open('/dev/null', 'w').write('x')",
        "%matplotlib inline\nimport matplotlib.pyplot as plt",
        "class Net:\n    def predict(self, x):\n        return x",  # not a keras Model
        "model.fit(x_train, y_train, validation_data=(x_test, y_test))\n"
        "model.evaluate(x_test, y_test)",  # validating and evaluating on test data is what it is for
        "import tensorflow as tf\ntest_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test))\n"
        "model.evaluate(test_ds.batch(32))",
        "n_test = len(x_test)\nmodel.fit(x_train[:n_test], y_train[:n_test])",  # a length, not data
        "model.save('my_model.keras')\nsetattr(config, 'epochs', 3)",
    ],
)
def test_scan_leaves_ordinary_code_alone(source: str) -> None:
    assert integrity.scan(nb_of(source)) == []


def course_notebooks() -> list[Path]:
    return sorted([*solutions_dir().glob("*.ipynb"), *exercises_dir().glob("*.ipynb")])


@pytest.mark.parametrize("path", course_notebooks(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_course_notebooks_raise_no_finding_and_no_note(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    names = ["zero_pad", "conv2d", "sobel_edges", "max_pool2d", "avg_pool2d", "summarize"]
    assert integrity.scan(nb) == []
    assert notebook_structure.structure_notes(nb, names) == []


def test_python_source_blanks_ipython_syntax_but_keeps_line_numbers() -> None:
    src = "!pip install x\nfiles = !ls\n%time y = 1\nnp.convolve?\nz = 3"
    python, specials, magic = code_cells.python_source(src)
    assert python.splitlines() == ["pass", "files = None", "pass", "pass", "z = 3"]
    assert specials == ["!pip install x", "files = !ls", "%time y = 1"]
    assert magic == ""
    assert code_cells.python_source("%%bash\necho hi")[0] == ""
    assert code_cells.python_source("%%time\nx = 1")[0].splitlines() == ["", "x = 1"]


NOTES = {
    "defined twice": (
        nb_of("def conv2d(x):\n    return 1", "def conv2d(x):\n    return 2"),
        "the function conv2d is defined 2 times (cells 1 and 2); the last "
        "definition that ran (cell 2) was graded",
    ),
    "markdown": (
        nb_of("import numpy as np", markdown={1: "```python\ndef conv2d(x):\n  pass\n```"}),
        "cell 2 is a markdown cell but holds the definition of conv2d: it was not run "
        "(no code cell defines it)",
    ),
    "used before defined": (
        nb_of("y = conv2d(1)", "def conv2d(x):\n    return x"),
        "cell 1 uses conv2d before it is defined (cell 2)",
    ),
    "duplicated": (
        nb_of("def g():\n    pass", "def g():\n    pass"),
        "cells 1 and 2 hold the same code",
    ),
    "pip": (nb_of("!pip install torch"), "cell 1 installs packages (!pip install torch)"),
    "%pip": (nb_of("%pip install -q torch"), "cell 1 installs packages"),
    "shell": (nb_of("!rm -rf data"), "cell 1 runs shell commands (!rm -rf data)"),
    "timeit": (nb_of("%%timeit\ndef conv2d(x):\n    pass"), "keeps none of its definitions"),
    "writefile": (nb_of("%%writefile helpers.py\ndef f(): pass"), "writes a file and runs nothing"),
    "run": (nb_of("%run helpers.py"), "cell 1 uses %run (%run helpers.py)"),
    "reset": (nb_of("%reset -f"), "deletes every variable"),
    "no code": (nb_of(), "the notebook has no code cells"),
}


@pytest.mark.parametrize("case", sorted(NOTES))
def test_structure_notes(case: str) -> None:
    nb, expected = NOTES[case]
    notes = notebook_structure.structure_notes(nb, ["conv2d"])
    assert any(expected in n for n in notes), notes


def test_unknown_kernelspec_is_noted() -> None:
    nb = nb_of("x = 1")
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    assert any("'ir'" in n and "python3" in n for n in notebook_structure.structure_notes(nb))


def test_a_function_defined_once_and_used_after_has_no_note() -> None:
    nb = nb_of(
        "def conv2d(x):\n    return x", "y = conv2d(1)", "def later():\n    return conv2d(2)"
    )
    assert notebook_structure.structure_notes(nb, ["conv2d"]) == []
