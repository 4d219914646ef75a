"""The examples in kandle's docstrings run and print what they show.

They run against the installed package (the wheel, in .ci/run), module by module."""

import doctest
import importlib
import pkgutil

import pytest

import kandle

MODULES = ["kandle"] + sorted(
    name for _, name, _ in pkgutil.walk_packages(kandle.__path__, prefix="kandle.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(name)
    threads = kandle.config.get_num_threads()
    runner = doctest.DocTestRunner()
    try:
        for test in doctest.DocTestFinder().find(module, name):
            runner.run(test)
    finally:
        # An example may size the thread pool; the tests after this one get it back.
        kandle.config.set_num_threads(threads)
    failed, _ = runner.summarize(verbose=False)
    report = capsys.readouterr().out
    assert failed == 0, report
