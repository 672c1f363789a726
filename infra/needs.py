"""What the deployed code asks of AWS, read from its source (no AWS, no app import).

The IAM policies of the Lambda functions (`.chalice/policy-<function>.json`, written by `infra/policy.py`) are
generated from this (per function: `derive_per_function`),
and `tests/test_infra.py` checks the packaged template against it: everything found here is granted, nothing else.

How calls are recognised (a small, flow-insensitive type inference over the AST of `app.py` and `chalicelib/`):
- PynamoDB: `Model.get/query/batch_get/batch_write…` on a model class, `Model.<index>.query`, `.save/.update/.delete`
  on a value known to be a model instance (built with `Model(...)`, returned by `Model.get`, annotated as one, or
  returned by a function annotated to return one), and `tx.save/update/delete/condition_check` inside
  `with TransactWrite(...) as tx` (IAM checks transactions item by item, with the plain item actions).
- the stores handed to services: a value annotated `Stores` (chalicelib/store/stores.py) has, as each field, the
  store module `DYNAMODB = Stores(<field>=<module>, ...)` wires to it, so `stores.accounts.find_account(...)` is a
  call of `chalicelib/store/accounts.find_account` (and the default `= DYNAMODB` itself reaches nothing).
- boto3: calls on a client returned by a function whose body is `return boto3.client("<service>", ...)`; the buckets
  and queues are the `settings()` attributes that module names (`exports_bucket`, `jobs_queue`, ...).
A `.save()`, `.delete()`, `.refresh()` or `.update(actions=...)` whose receiver cannot be typed is reported as
unresolved, so a new call is never silently left out of the policy: annotate the variable with its model.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent

# Code that is packaged but never runs in a Lambda function: the local/test bootstrap (creates tables, buckets,
# queues) and the admin command line, which runs with the operator's own credentials.
NOT_RUN_IN_LAMBDA = {"chalicelib/store/bootstrap.py", "chalicelib/cli.py"}

CLASS_CALLS = {"get": "GetItem", "query": "Query", "scan": "Scan", "count": "Query", "batch_get": "BatchGetItem",
               "batch_write": "BatchWriteItem", "exists": "DescribeTable", "describe_table": "DescribeTable",
               "create_table": "CreateTable", "delete_table": "DeleteTable", "update_ttl": "UpdateTimeToLive"}
INDEX_CALLS = {"query": "Query", "scan": "Scan", "count": "Query"}
INSTANCE_CALLS = {"save": "PutItem", "update": "UpdateItem", "delete": "DeleteItem", "refresh": "GetItem"}
TRANSACT_WRITE_CALLS = {"save": "PutItem", "update": "UpdateItem", "delete": "DeleteItem",
                        "condition_check": "ConditionCheckItem"}
TRANSACT_GET_CALLS = {"get": "GetItem"}
STORES_CLASS = "Stores"  # the bundle of stores services are handed (chalicelib/store/stores.py)
CLIENT_CALLS = {
    "s3": {"put_object": "PutObject", "get_object": "GetObject", "head_object": "GetObject",
           "delete_object": "DeleteObject", "delete_objects": "DeleteObject", "copy_object": "PutObject",
           "upload_fileobj": "PutObject", "download_fileobj": "GetObject", "generate_presigned_post": "PutObject",
           "list_objects_v2": "ListBucket"},
    "sqs": {"send_message": "SendMessage", "send_message_batch": "SendMessage", "get_queue_url": "GetQueueUrl",
            "receive_message": "ReceiveMessage", "delete_message": "DeleteMessage",
            "delete_message_batch": "DeleteMessage", "get_queue_attributes": "GetQueueAttributes",
            "change_message_visibility": "ChangeMessageVisibility"},
    "ses": {"send_raw_email": "SendRawEmail", "send_email": "SendEmail", "get_send_quota": "GetSendQuota",
            "get_send_statistics": "GetSendStatistics"},
    "sesv2": {"send_email": "SendEmail", "get_account": "GetAccount"},
    "sns": {"publish": "Publish"},
}
# Which settings attributes name a resource of each service (chalicelib/config.py).
RESOURCE_SETTINGS = {"s3": "_bucket", "sqs": "_queue", "sns": "_topic"}
MUTATORS = {"save", "delete", "refresh"}


@dataclass(frozen=True)
class Need:
    service: str  # "dynamodb" | "s3" | "sqs" | "ses" | ...
    action: str  # IAM action without the service prefix
    resource: str  # table name suffix, "<table>/index/<name>", a settings attribute, or "*"


@dataclass
class Needs:
    found: dict[Need, set[str]] = field(default_factory=lambda: defaultdict(set))  # need -> "file:line"
    unresolved: list[str] = field(default_factory=list)

    def add(self, need: Need, where: str) -> None:
        self.found[need].add(where)

    def of(self, service: str) -> dict[str, set[str]]:
        """resource -> actions, for one service."""
        out: dict[str, set[str]] = defaultdict(set)
        for need in self.found:
            if need.service == service:
                out[need.resource].add(need.action)
        return dict(out)


# --- the models: class name -> table suffix and index attributes -------------------------------------------------

@dataclass(frozen=True)
class Table:
    model: str
    suffix: str  # table name without the stage prefix
    indexes: dict[str, str]  # attribute on the model -> index name


def tables() -> dict[str, Table]:
    from pynamodb.indexes import GlobalSecondaryIndex, LocalSecondaryIndex

    from chalicelib.config import settings
    from chalicelib.store.models import ALL_MODELS

    prefix = settings().table_prefix
    out = {}
    for model in ALL_MODELS:
        name = model.Meta.table_name
        assert name.startswith(prefix), name
        indexes = {attr: value.Meta.index_name for attr, value in vars(model).items()
                   if isinstance(value, (GlobalSecondaryIndex, LocalSecondaryIndex))}
        out[model.__name__] = Table(model.__name__, name[len(prefix):], indexes)
    return out


# --- types ---------------------------------------------------------------------------------------------------------
# ("class", M) a model class · ("model", M) an instance · ("index", M, attr) · ("list", T) items of T ·
# ("tuple", (T1, T2…)) · ("batch", M) · ("txw",) · ("txg",) · ("client", svc) · ("module", name) ·
# ("func", module, name) · ("attr",) an attribute of a model class (its .set/.add/.delete build update actions)

Type = tuple
Types = frozenset


class _Code:
    """Every module of the deployed code: imports, functions and their declared return types."""

    def __init__(self, root: Path, models: dict[str, Table]):
        self.root = root
        self.models = models
        self.modules: dict[str, tuple[str, ast.Module]] = {}  # dotted name -> (relative path, tree)
        paths = [root / "app.py"] + sorted((root / "chalicelib").rglob("*.py"))
        for path in paths:
            rel = path.relative_to(root).as_posix()
            dotted = rel[:-3].replace("/", ".").removesuffix(".__init__")
            self.modules[dotted] = (rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel))
        self.functions = {(mod, node.name): node for mod, (_, tree) in self.modules.items()
                          for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        # classes of the code itself: naming one reaches its methods (__post_init__ and the like run unseen)
        self.classes = {(mod, node.name) for mod, (_, tree) in self.modules.items()
                        for node in tree.body if isinstance(node, ast.ClassDef)}
        self.imports = {mod: self._imports(tree) for mod, (_, tree) in self.modules.items()}
        self.factories = {key: svc for key, node in self.functions.items() if (svc := _client_factory(node))}
        self.wiring = self._wiring()

    def _wiring(self) -> dict[str, str]:
        """`Stores` field -> the store module the deployed wiring (`DYNAMODB = Stores(...)`) puts there."""
        module = "chalicelib.store.stores"
        if module not in self.modules:
            return {}
        out = {}
        for node in self.modules[module][1].body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and isinstance(node.value.func, ast.Name) and node.value.func.id == STORES_CLASS:
                for keyword in node.value.keywords:
                    bound = self.imports[module].get(keyword.value.id) if isinstance(keyword.value, ast.Name) else None
                    if keyword.arg and bound and bound[0] == "module":
                        out[keyword.arg] = bound[1]
        return out

    def _imports(self, tree: ast.Module) -> dict[str, Type]:
        names: dict[str, Type] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    local = alias.asname or alias.name
                    full = f"{node.module}.{alias.name}"
                    if alias.name in self.models:
                        names[local] = ("class", alias.name)
                    elif alias.name in ("TransactWrite", "TransactGet"):
                        names[local] = ("txw",) if alias.name == "TransactWrite" else ("txg",)
                    elif full in self.modules:
                        names[local] = ("module", full)
                    else:
                        names[local] = ("func", node.module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.asname or alias.name.split(".")[0]] = ("module", alias.name)
        return names

    def returns(self, module: str, name: str) -> Types:
        if (module, name) in self.factories:
            return Types({("client", self.factories[(module, name)])})
        node = self.functions.get((module, name))
        if node is None or node.returns is None:
            return Types()
        return self.annotation(node.returns)

    def annotation(self, node: ast.expr | None) -> Types:
        if node is None:
            return Types()
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return self.annotation(ast.parse(node.value, mode="eval").body)
        if (node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)) == STORES_CLASS:
            return Types({("stores",)})
        if isinstance(node, ast.Name):
            return Types({("model", node.id)}) if node.id in self.models else Types()
        if isinstance(node, ast.Attribute):
            return Types({("model", node.attr)}) if node.attr in self.models else Types()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.annotation(node.left) | self.annotation(node.right)
        if isinstance(node, ast.Subscript):
            outer = node.slice
            base = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "")
            if base == "Optional":
                return self.annotation(outer)
            if base in ("tuple", "Tuple") and isinstance(outer, ast.Tuple):
                return Types({("tuple", tuple(self.annotation(e) for e in outer.elts))})
            if base in ("list", "List", "Iterator", "Iterable", "Sequence", "set", "frozenset", "Generator"):
                first = outer.elts[0] if isinstance(outer, ast.Tuple) else outer
                return Types({("list", t) for t in self.annotation(first)})
            if base in ("dict", "Dict", "Mapping") and isinstance(outer, ast.Tuple):
                return Types()
        return Types()


def _client_factory(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """`return boto3.client("s3", ...)` (or `boto3.session.Session().client(...)`) -> "s3"."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Return) and isinstance(sub.value, ast.Call):
            func = sub.value.func
            if isinstance(func, ast.Attribute) and func.attr == "client" and sub.value.args \
                    and isinstance(sub.value.args[0], ast.Constant):
                return str(sub.value.args[0].value)
    return None


class _Scope:
    """One top-level function (with whatever it nests), or a module's top-level statements."""

    def __init__(self, code: _Code, module: str, rel: str, body: list[ast.stmt], args: ast.arguments | None):
        self.code, self.module, self.rel = code, module, rel
        self.nodes = [n for stmt in body for n in ast.walk(stmt)]
        self.env: dict[str, Types] = defaultdict(Types)
        if args is not None:
            for arg in args.posonlyargs + args.args + args.kwonlyargs:
                self.env[arg.arg] |= code.annotation(arg.annotation)
        for _ in range(3):  # bindings feed each other; a few passes reach the fixpoint for real code
            self._bind()

    def _bind(self) -> None:
        for node in self.nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                args = node.args
                for arg in args.posonlyargs + args.args + args.kwonlyargs:
                    self.env[arg.arg] |= self.code.annotation(arg.annotation)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    self._assign(target, self.type(node.value))
            elif isinstance(node, ast.AnnAssign):
                self._assign(node.target, self.code.annotation(node.annotation) |
                             (self.type(node.value) if node.value else Types()))
            elif isinstance(node, ast.NamedExpr):
                self._assign(node.target, self.type(node.value))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                self._assign(node.target, _items(self.type(node.iter)))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        self._assign(item.optional_vars, self.type(item.context_expr))

    def _assign(self, target: ast.expr, types: Types) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] |= types
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in types:
                if t[0] == "tuple" and len(t[1]) == len(target.elts):
                    for elt, part in zip(target.elts, t[1], strict=True):
                        self._assign(elt, part)
                elif t[0] == "list":
                    for elt in target.elts:
                        self._assign(elt, Types({t[1]}))

    def type(self, node: ast.expr | None) -> Types:
        code = self.code
        if node is None:
            return Types()
        if isinstance(node, ast.Name):
            return self.env.get(node.id, Types()) | self._global(node.id)
        if isinstance(node, ast.Attribute):
            out: set[Type] = set()
            for t in self.type(node.value):
                if t[0] == "class":
                    table = code.models[t[1]]
                    out.add(("index", t[1], node.attr) if node.attr in table.indexes else ("attr",))
                elif t[0] == "module":
                    if node.attr in code.models:
                        out.add(("class", node.attr))
                    elif f"{t[1]}.{node.attr}" in code.modules:
                        out.add(("module", f"{t[1]}.{node.attr}"))
                    else:
                        out.add(("func", t[1], node.attr))
                elif t[0] == "attr":
                    out.add(("attr",))
                elif t[0] == "stores" and node.attr in code.wiring:
                    out.add(("module", code.wiring[node.attr]))
            return Types(out)
        if isinstance(node, ast.Subscript):
            base = self.type(node.value)
            return Types({("attr",)} if ("attr",) in base else set()) | _items(base)
        if isinstance(node, ast.IfExp):
            return self.type(node.body) | self.type(node.orelse)
        if isinstance(node, ast.BoolOp):
            return Types().union(*(self.type(v) for v in node.values))
        if isinstance(node, ast.Await):
            return self.type(node.value)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return Types({("list", t) for t in self.type(node.elt)})
        if isinstance(node, (ast.List, ast.Set, ast.Tuple)):
            return Types({("list", t) for elt in node.elts for t in self.type(elt)})
        if isinstance(node, ast.Call):
            return self._call_type(node)
        return Types()

    def _global(self, name: str) -> Types:
        imported = self.code.imports[self.module].get(name)
        if imported is not None:
            if imported[0] == "func":
                return Types({("func", imported[1], imported[2])})
            return Types({imported})
        if (self.module, name) in self.code.functions:
            return Types({("func", self.module, name)})
        if name in self.code.models:
            return Types({("class", name)})
        if (self.module, name) in self.code.classes:
            return Types({("func", self.module, name)})  # a class of this module: its scope and methods
        return Types()

    def _call_type(self, node: ast.Call) -> Types:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("list", "sorted", "iter", "reversed", "tuple", "set"):
            return self.type(node.args[0]) if node.args else Types()
        if isinstance(func, ast.Name) and func.id == "next":
            return _items(self.type(node.args[0])) if node.args else Types()
        out: set[Type] = set()
        for t in self.type(func):
            if t[0] == "class":
                out.add(("model", t[1]))
            elif t[0] in ("txw", "txg"):
                out.add(t)
            elif t[0] == "func":
                out |= self.code.returns(t[1], t[2])
        if isinstance(func, ast.Attribute):
            for t in self.type(func.value):
                if t[0] == "class":
                    if func.attr == "get":
                        out.add(("model", t[1]))
                    elif func.attr in ("query", "scan", "batch_get"):
                        out.add(("list", ("model", t[1])))
                    elif func.attr == "batch_write":
                        out.add(("batch", t[1]))
                elif t[0] == "index" and func.attr in ("query", "scan"):
                    out.add(("list", ("model", t[1])))
                elif t[0] == "module" and t[1] == "boto3" and func.attr == "client" and node.args \
                        and isinstance(node.args[0], ast.Constant):
                    out.add(("client", str(node.args[0].value)))
        return Types(out)

    @property
    def uses_models(self) -> bool:
        """Only modules that import the models, the store or PynamoDB hold model instances (openpyxl's wb.save is
        not a table write)."""
        return any(t[0] in ("class", "txw", "txg") or (t[0] in ("module", "func") and
                                                       t[1].startswith(("chalicelib.store", "pynamodb")))
                   for t in self.code.imports[self.module].values())

    def settings_refs(self) -> set[str]:
        return _settings_refs(self.nodes)

    def collect(self, needs: Needs) -> list[tuple[str, str, str, set[str]]]:
        """Record the needs of every call in scope; returns the client calls (service, action, where, the
        resource settings this scope names)."""
        client_calls = []
        for node in self.nodes:
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method, line = node.func.attr, f"{self.rel}:{node.lineno}"
            receiver = self.type(node.func.value)
            known = False
            for t in receiver:
                kind = t[0]
                if kind == "class" and method in CLASS_CALLS:
                    needs.add(Need("dynamodb", CLASS_CALLS[method], self.code.models[t[1]].suffix), line)
                elif kind == "index" and method in INDEX_CALLS:
                    table = self.code.models[t[1]]
                    needs.add(Need("dynamodb", INDEX_CALLS[method],
                                   f"{table.suffix}/index/{table.indexes[t[2]]}"), line)
                elif kind == "model" and method in INSTANCE_CALLS:
                    needs.add(Need("dynamodb", INSTANCE_CALLS[method], self.code.models[t[1]].suffix), line)
                elif kind in ("txw", "txg"):
                    calls = TRANSACT_WRITE_CALLS if kind == "txw" else TRANSACT_GET_CALLS
                    if method not in calls:
                        continue
                    items = self.type(node.args[0]) if node.args else Types()
                    models = {i[1] for i in items if i[0] in ("model", "class")}
                    if not models:
                        needs.unresolved.append(f"{line}: transaction {method}() on a value of unknown model")
                    for model in models:
                        needs.add(Need("dynamodb", calls[method], self.code.models[model].suffix), line)
                elif kind == "client":
                    client_calls.append((t[1], self._client_action(t[1], method, node, line, needs), line,
                                         self.settings_refs()))
                elif kind in ("batch", "attr", "model", "class", "index", "module", "func"):
                    pass
                else:
                    continue
                known = True
            if not known and self.uses_models and (method in MUTATORS or (
                    method == "update" and any(k.arg == "actions" for k in node.keywords))):
                needs.unresolved.append(f"{line}: .{method}() on a value whose model is unknown")
        return client_calls

    def _client_action(self, service: str, method: str, node: ast.Call, line: str, needs: Needs) -> str:
        if method == "generate_presigned_url":
            target = node.args[0] if node.args else next((k.value for k in node.keywords
                                                          if k.arg == "ClientMethod"), None)
            method = str(target.value) if isinstance(target, ast.Constant) else "?"
        action = CLIENT_CALLS.get(service, {}).get(method)
        if action is None:
            needs.unresolved.append(f"{line}: {service}.{method}() is not mapped to an IAM action in infra/needs.py")
            return "?"
        return action


def _items(types: Types) -> Types:
    return Types(t[1] for t in types if t[0] == "list")


def _settings_refs(nodes: Iterable[ast.AST]) -> set[str]:
    return {node.attr for node in nodes if isinstance(node, ast.Attribute)
            and node.attr.endswith(tuple(RESOURCE_SETTINGS.values()))}


ScopeKey = tuple[str, str]  # (module, "<module>" | "function" | "Class" | "Class.method")
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _scopes(code: _Code, module: str, rel: str, tree: ast.Module) -> Iterable[tuple[ScopeKey, _Scope, list]]:
    """Every scope of a module with its key and the decorators that wrap it (they run when it is called)."""
    top = [stmt for stmt in tree.body if not isinstance(stmt, (*_DEFS, ast.ClassDef))]
    yield (module, "<module>"), _Scope(code, module, rel, top, None), []
    for stmt in tree.body:
        if isinstance(stmt, _DEFS):
            yield (module, stmt.name), _Scope(code, module, rel, stmt.body, stmt.args), stmt.decorator_list
        elif isinstance(stmt, ast.ClassDef):
            body = [item for item in stmt.body if not isinstance(item, _DEFS)]
            yield (module, stmt.name), _Scope(code, module, rel, body, None), stmt.decorator_list + stmt.bases
            for item in stmt.body:
                if isinstance(item, _DEFS):
                    yield ((module, f"{stmt.name}.{item.name}"), _Scope(code, module, rel, item.body, item.args),
                           item.decorator_list)


@dataclass
class Graph:
    """Per scope: its own needs, and the scopes it may run (every function, class or module it names)."""
    needs: dict[ScopeKey, Needs] = field(default_factory=dict)
    edges: dict[ScopeKey, set[ScopeKey]] = field(default_factory=lambda: defaultdict(set))

    def reach(self, roots: Iterable[ScopeKey]) -> set[ScopeKey]:
        seen: set[ScopeKey] = set()
        todo = [r for r in roots if r in self.needs]
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            todo.extend(k for k in self.edges[key] if k not in seen and k in self.needs)
        return seen

    def union(self, keys: Iterable[ScopeKey]) -> Needs:
        out = Needs()
        for key in keys:
            for need, where in self.needs[key].found.items():
                out.found[need] |= where
            out.unresolved += self.needs[key].unresolved
        return out


def _graph(root: Path) -> Graph:
    code = _Code(root, tables())
    graph = Graph()
    members: dict[ScopeKey, list[ScopeKey]] = defaultdict(list)  # a class -> its methods
    referenced: dict[ScopeKey, list[tuple[_Scope, list]]] = {}
    for module, (rel, tree) in code.modules.items():
        if rel in NOT_RUN_IN_LAMBDA:
            continue
        module_refs = _settings_refs(ast.walk(tree))
        for key, scope, wrappers in _scopes(code, module, rel, tree):
            if "." in key[1]:
                members[(module, key[1].split(".")[0])].append(key)
            needs = graph.needs[key] = Needs()
            _resolve_clients(scope.collect(needs), module_refs, needs)
            referenced[key] = [(scope, scope.nodes + [n for w in wrappers for n in ast.walk(w)])]
    for key, [(scope, nodes)] in referenced.items():
        targets = graph.edges[key]
        targets.add((key[0], "<module>"))  # a module's import-time code runs before any of its functions
        for name in members.get(key, []):
            targets.add(name)  # a class brings its methods (called through instances the analysis cannot type)
        for node in nodes:
            if not isinstance(node, (ast.Name, ast.Attribute)):
                continue
            for t in scope.type(node):
                if t[0] == "module":
                    targets.add((t[1], "<module>"))
                elif t[0] == "func":
                    targets |= _target(code, graph, t[1], t[2])
                elif t[0] == "class":
                    targets |= _target(code, graph, _model_module(code, t[1]), t[1])
        targets.discard(key)
    for key, methods in members.items():
        graph.edges[key] |= set(methods)
    return graph


def _model_module(code: _Code, model: str) -> str:
    return next((mod for mod, (_, tree) in code.modules.items() for node in tree.body
                 if isinstance(node, ast.ClassDef) and node.name == model), "")


def _target(code: _Code, graph: Graph, module: str, name: str, depth: int = 0) -> set[ScopeKey]:
    """The scope(s) `module.name` designates, following re-exports; nothing for a constant or outside code."""
    if module not in code.modules or depth > 5:
        return set()
    key = (module, name)
    if key in graph.needs:
        return {key, (module, "<module>")}
    imported = code.imports[module].get(name)
    if imported and imported[0] == "func":
        return _target(code, graph, imported[1], imported[2], depth + 1) | {(module, "<module>")}
    if imported and imported[0] == "module":
        return {(imported[1], "<module>"), (module, "<module>")}
    return {(module, "<module>")}


def _resolve_clients(calls: list, module_refs: set[str], needs: Needs) -> None:
    for service, action, line, scope_refs in calls:
        if action == "?":
            continue
        suffix = RESOURCE_SETTINGS.get(service)
        if suffix is None:  # SES: the identity and configuration set, fixed by the template
            needs.add(Need(service, action, "*" if action.startswith("Get") else "identity"), line)
            continue
        # the resource the calling function names, else (a helper taking the name as argument) its module's
        names = sorted(r for r in scope_refs if r.endswith(suffix)) or \
            sorted(r for r in module_refs if r.endswith(suffix))
        if not names:
            needs.unresolved.append(f"{line}: {service} call in a module that names no settings().*{suffix}")
        for name in names:
            needs.add(Need(service, action, name), line)


def derive(root: Path = ROOT) -> Needs:
    """Every AWS permission the code that runs in Lambda uses, with where each comes from."""
    graph = _graph(root)
    return graph.union(graph.needs)


# --- per function -------------------------------------------------------------------------------------------------
# Each chalice function runs app.py's import-time code (which registers every route, schedule and handler) and then
# only its own entry: the API the routes of chalicelib/api (and their middleware), each schedule and queue or topic
# handler its decorated function in app.py. What an entry may reach is everything it names, transitively (functions,
# classes with all their methods, modules' import-time code): an over-approximation of what it calls, never less.

API_FUNCTION = "api_handler"  # chalice's name for the function behind API Gateway
EVENT_DECORATORS = {"schedule", "on_sqs_message", "on_sns_message", "on_s3_event", "on_cw_event", "lambda_function"}


def entries(root: Path = ROOT) -> dict[str, list[ScopeKey]]:
    """chalice function name -> the scopes it starts from."""
    tree = ast.parse((root / "app.py").read_text(encoding="utf-8"))
    api = [("app", "<module>")] + [
        (path.relative_to(root).as_posix()[:-3].replace("/", ".").removesuffix(".__init__"), "<all>")
        for path in sorted((root / "chalicelib" / "api").glob("*.py"))]
    out: dict[str, list[ScopeKey]] = {API_FUNCTION: api}
    for node in tree.body:
        if not isinstance(node, _DEFS):
            continue
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) \
                    and deco.func.attr in EVENT_DECORATORS:
                name = next((k.value.value for k in deco.keywords if k.arg == "name"
                             and isinstance(k.value, ast.Constant)), node.name)
                out[str(name)] = [("app", "<module>"), ("app", node.name)]
    return out


def derive_per_function(root: Path = ROOT) -> dict[str, Needs]:
    """chalice function name -> the permissions of the code it may run. Import-time code of every module counts
    for every function; the routes (chalicelib/api) only for the API."""
    graph = _graph(root)
    imported = graph.reach([("app", "<module>")])
    out = {}
    for function, roots in entries(root).items():
        starts = []
        for module, name in roots:
            if name == "<all>":
                starts += [k for k in graph.needs if k[0] == module]
            else:
                starts.append((module, name))
        if function == API_FUNCTION:
            out[function] = graph.union(graph.reach(starts))
        else:  # import-time code only, plus the handler and what it reaches
            reached = graph.reach(starts[1:]) | {k for k in imported if k[1] == "<module>"}
            out[function] = graph.union(reached)
    return out


def main() -> None:
    import sys

    if "--per-function" in sys.argv:
        for function, found in derive_per_function().items():
            print(f"== {function}")
            for need in sorted(found.found, key=lambda n: (n.service, n.resource, n.action)):
                print(f"  {need.service}:{need.action:<20} {need.resource}")
        return
    needs = derive()
    for need in sorted(needs.found, key=lambda n: (n.service, n.resource, n.action)):
        where = sorted(needs.found[need])
        print(f"{need.service}:{need.action:<20} {need.resource:<32} {where[0]}" +
              (f" (+{len(where) - 1})" if len(where) > 1 else ""))
    for problem in needs.unresolved:
        print("UNRESOLVED", problem)


if __name__ == "__main__":
    main()
