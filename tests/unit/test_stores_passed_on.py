"""A service function that is handed `stores` reaches storage only through it and passes it on to every service it
calls that takes it (docs/ARCHITECTURE.md, "How services get their stores"): a call that forgets it would quietly
reach the deployed wiring, which a service test on the in-memory stores notices only if that path runs."""
import ast
import importlib
import inspect
import pkgutil

import chalicelib.services

MODULES = [importlib.import_module(f"chalicelib.services.{m.name}")
           for m in pkgutil.iter_modules(chalicelib.services.__path__)]


def _handed_stores(fn: ast.FunctionDef) -> bool:
    return "stores" in [a.arg for a in fn.args.args + fn.args.kwonlyargs]


def _resolve(module, node: ast.expr):
    """What a call's target names in `module`: a name, or an attribute of an imported module."""
    if isinstance(node, ast.Name):
        return getattr(module, node.id, None)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        base = getattr(module, node.value.id, None)
        return getattr(base, node.attr, None) if inspect.ismodule(base) else None
    return None


def _passes_stores(call: ast.Call, target) -> bool:
    if any(k.arg == "stores" or k.arg is None for k in call.keywords):
        return True
    params = list(inspect.signature(target).parameters)
    return len(call.args) > params.index("stores")


def _functions_handed_stores():
    for module in MODULES:
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.FunctionDef) and _handed_stores(node):
                yield module, node


def test_a_service_handed_stores_passes_them_on():
    forgotten = []
    for module, fn in _functions_handed_stores():
        for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
            target = _resolve(module, call.func)
            if inspect.isfunction(target) and target.__module__.startswith("chalicelib.services.") \
                    and "stores" in inspect.signature(target).parameters and not _passes_stores(call, target):
                forgotten.append(f"{module.__name__}.{fn.name} (line {call.lineno}) calls {target.__name__}")
    assert forgotten == []


def test_a_service_handed_stores_reaches_no_store_module_directly():
    direct = []
    for module, fn in _functions_handed_stores():
        for node in (n for n in ast.walk(fn) if isinstance(n, (ast.Name, ast.Attribute))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                target = getattr(module, node.value.id, None)
                if inspect.ismodule(target) and target.__name__.startswith("chalicelib.store."):
                    direct.append(f"{module.__name__}.{fn.name} (line {node.lineno}) uses {target.__name__}")
            elif isinstance(node, ast.Name):
                target = getattr(module, node.id, None)
                if inspect.isfunction(target) and target.__module__.startswith("chalicelib.store."):
                    direct.append(f"{module.__name__}.{fn.name} (line {node.lineno}) calls {target.__module__}."
                                  f"{target.__name__}")
    assert direct == []
