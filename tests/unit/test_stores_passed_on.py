"""A service function that is handed `stores` reaches storage only through it and passes it on to every service it
calls that takes it (docs/ARCHITECTURE.md, "How services get their stores"): a call that forgets it would quietly
reach the deployed wiring, which a service test on the in-memory stores notices only if that path runs."""
import ast
import importlib
import inspect
import pkgutil

import chalicelib.services
from chalicelib.store.stores import DYNAMODB, Stores

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


def _contract_functions() -> set[tuple[str, str]]:
    """(store module, function) for every method of a store contract: what only `stores` may reach."""
    found = set()
    for name in Stores.__struct_fields__:
        wired = getattr(DYNAMODB, name)
        for cls in vars(wired).values():
            if inspect.isclass(cls) and getattr(cls, "_is_protocol", False) and cls.__module__ == wired.__name__:
                found |= {(wired.__name__, method) for method in vars(cls) if not method.startswith("_")}
    return found


def test_a_moved_service_reaches_storage_only_through_its_stores():
    """A module that takes `stores` (it imports `Stores`) calls no contract function of a store module directly,
    in any of its functions: what it stores, it stores where its caller said."""
    contract = _contract_functions()
    direct = []
    for module in (m for m in MODULES if getattr(m, "Stores", None) is Stores):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                base = getattr(module, node.value.id, None)
                named = (base.__name__, node.attr) if inspect.ismodule(base) else None
            elif isinstance(node, ast.Name) and inspect.isfunction(getattr(module, node.id, None)):
                target = getattr(module, node.id)
                named = (target.__module__, target.__name__)
            else:
                continue
            if named in contract:
                direct.append(f"{module.__name__} (line {node.lineno}) calls {named[0]}.{named[1]}")
    assert contract and direct == []
