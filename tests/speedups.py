"""Costs of moto 5 and botocore that the tests avoid, their behaviour kept (tests/unit/test_speedups.py checks it).

Installed by the tests in their own process (tests/conftest.py) and in the processes of the local stacks they
start (tests/localstack.py: moto's server, the seed, the queue drains; 1 in every process of a stack, its API server
too, through a sitecustomize on its path, and in those of the launcher the fault suite kills); `make run` keeps
moto's serializer and botocore's loader as they are.

1. One loader of the SDK's JSON models for every botocore session of a process (a session normally reads and
parses them again: PynamoDB makes a session per model class and per Connection, which costs seconds). The
loader's cache is what one session already shares among its clients.

2. moto's TransactWriteItems with a rollback copy of the items it touches rather than of whole tables
(dev/stack/moto_patches.py, which `make run`'s emulator uses as well): moto 5 deep-copies every table a transaction
names before applying it, tens of milliseconds a transaction once a test has a few hundred rows.

3. moto's response serializer asks each of its alias providers, for every member of every structure it writes
(each attribute value of each item: S, N, M, L … ten members), which keys to look for in the result; for a result
held in a dict the answer depends only on the picker's kind, the member's shape, its parent shape and the key, so
it is asked once per such combination and remembered: the same keys are looked up in the same order.

4. Pickled copies of moto's backends (tests/conftest.py: each test starts from a copy of the seeded state) that load
in a few milliseconds: an item's attributes are a dict that re-checks the item's whole size at every key it is
given, so unpickling an item key by key costs the square of its size (most of a test's set-up); here the
attributes are pickled as a plain dict and put back in one step, as moto's own deepcopy of an item does. moto's
locks are copied as new, unlocked ones.

5. DynamoDB's attribute values written by the JSON serializer directly: moto walks each one (every attribute of
every item it returns) as a structure of ten members, asking its attribute picker for each; a value moto holds as a
dict of one member ({"S": …}, {"M": {…}} …) is written as that walk writes it (strings by the serializer's string
rule, blobs in base64, maps and lists member by member), anything else is walked as before.
"""
from __future__ import annotations

import contextlib
import copyreg
import threading
from collections.abc import Iterator
from typing import Any

_installed = False
_limited_size_dict_class: Any = None  # moto's, imported by picklable_backends (this module must not import moto)


def share_botocore_loader() -> None:
    import botocore.session

    loaders: dict = {}
    create = botocore.session.create_loader

    def shared(search_path_string=None):
        if search_path_string not in loaders:
            loaders[search_path_string] = create(search_path_string)
        return loaders[search_path_string]

    botocore.session.create_loader = shared


def install_moto() -> None:
    """2, 3 and 5 above."""
    global _installed
    if _installed:
        return
    from dev.stack import moto_patches

    moto_patches.install()
    _remember_possible_keys_for_dicts()
    _attribute_values_directly()
    _installed = True


def _remember_possible_keys_for_dicts() -> None:
    from moto.core import serialize

    original_call = serialize.AttributePicker.__call__
    remembered: dict[tuple, tuple[str, ...]] = {}  # a picker is made per response: kept across them

    def call(self: Any, context: Any) -> Any:
        obj = context.obj
        if type(obj) is not dict:  # a model object: its class, its Meta aliases … decide
            return original_call(self, context)
        shape = context.shape
        key = (type(self), tuple(self.alias_providers), shape, getattr(shape, "parent", None), context.key)
        keys = remembered.get(key)
        if keys is None:
            keys = remembered[key] = tuple(self.get_possible_keys(context))  # the picker's own (xform'd or not)
        for possible_key in keys:
            value = serialize.get_value(obj, possible_key, serialize.MISSING)
            if value is not serialize.MISSING:
                break
        else:
            value = None
        key_path = f"{context.key_path}.{context.key}"
        for transform_path, transform in self.response_transformers.items():
            if key_path.endswith(transform_path):
                value = transform(value)
                break
        return value

    call.original = original_call  # type: ignore[attr-defined]
    serialize.AttributePicker.__call__ = call  # type: ignore[method-assign]


DYNAMODB = ("dynamodb", "dynamodbstreams")  # other services name other shapes AttributeValue (ds-data's N: a long)


def _attribute_values_directly() -> None:
    from moto.core import serialize

    original = serialize.BaseJSONSerializer._serialize_type_structure

    def text(value: Any) -> Any:  # the JSON serializer's string rule
        return str(value) if value not in [None, {}, []] else value

    def attribute_value(self: Any, value: dict, shape: Any) -> dict | None:
        """What the generic walk writes for one AttributeValue dict of one member; None: walk it generically."""
        (name, member), = value.items()
        if member is None or name not in shape.members:
            return None
        if name in ("S", "N"):
            return {name: text(member)}
        if name in ("NULL", "BOOL"):
            return {name: member}
        if name == "B":
            return {name: self._base64(member)}
        if name in ("SS", "NS"):
            return {name: [text(item) for item in member]}
        if name == "BS":
            return {name: [self._base64(item) for item in member]}
        if name == "M" and type(member) is dict:
            items = shape.members["M"].value
            out: dict = {}
            for sub_key, sub_value in member.items():
                self._serialize(out, sub_value, items, sub_key)  # a None value is left out, as the walk does
            return {name: out}
        if name == "L" and type(member) is list:
            items = shape.members["L"].member
            listed = []
            for item in member:
                wrapper: dict = {}
                self._serialize(wrapper, item, items, items.name)
                listed.append(wrapper[items.name] if items.name in wrapper else item)
            return {name: listed}
        return None

    def structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and type(value) is dict and len(value) == 1 and shape.name == "AttributeValue" \
                and self.service_model.service_name in DYNAMODB \
                and not getattr(self._value_picker, "response_transformers", None):
            written = attribute_value(self, value, shape)
            if written is not None:
                self._default_serialize(serialized, written, shape, key)
                return
        original(self, serialized, value, shape, key)

    structure.original = original  # type: ignore[attr-defined]
    serialize.BaseJSONSerializer._serialize_type_structure = structure  # type: ignore[method-assign]


def _limited_size_dict(attrs: dict) -> Any:
    made = _limited_size_dict_class.__new__(_limited_size_dict_class)
    dict.update(made, attrs)  # the size was checked when the item was written
    return made


@contextlib.contextmanager
def picklable_backends() -> Iterator[None]:
    """Within: pickle.dumps and pickle.loads of moto's backends as described above."""
    global _limited_size_dict_class
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    _limited_size_dict_class = LimitedSizeDict
    reducers: dict[type, Any] = {LimitedSizeDict: lambda attrs: (_limited_size_dict, (dict(attrs),))}
    for kind, make in {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}.items():
        reducers[kind] = lambda lock, make=make: (make, ())
    for kind, reduce in reducers.items():
        copyreg.pickle(kind, reduce)
    try:
        yield
    finally:
        for kind in reducers:
            copyreg.dispatch_table.pop(kind, None)
