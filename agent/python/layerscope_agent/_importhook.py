"""_importhook.py: runs a function right after a module is first imported, so the agent
hooks torch only in processes that use it and costs nothing at start-up elsewhere."""
import importlib.abc
import importlib.util
import sys


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, name, fn):
        self.name, self.fn, self.busy = name, fn, False

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name or self.busy:
            return None
        self.busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self.busy = False
        if spec is None or spec.loader is None:
            return None
        orig = spec.loader.exec_module
        finder = self

        def exec_module(module):
            orig(module)
            try:
                sys.meta_path.remove(finder)
            except ValueError:
                pass
            finder.fn()
        spec.loader.exec_module = exec_module
        return spec


def on_import(name, fn):
    sys.meta_path.insert(0, _Finder(name, fn))
