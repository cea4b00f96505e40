"""A light immutable record base for the readers' internal values.

``@dataclass(frozen=True)`` costs about 1 ms per class at import on the machine this was
measured on (it generates and compiles six methods); the readers define a few dozen value
types, so they use this slotted base instead: one generated ``__init__`` per class, defaults
from ``_defaults``, equality and hashing by type and fields, no attribute assignment after
construction.
"""
from __future__ import annotations

_set = object.__setattr__


class Val:
    __slots__ = ()
    _defaults: dict = {}

    def __init_subclass__(cls, **kwargs):
        """Give each subclass a positional ``__init__`` of its own: the generic one below
        costs three times as much, and the readers build hundreds of values per file."""
        super().__init_subclass__(**kwargs)
        names = cls.__dict__.get("__slots__", ())
        if "__init__" in cls.__dict__ or not names or not all(n.isidentifier() for n in names):
            return
        defaults = cls._defaults
        params = ", ".join(f"{n}=_d[{n!r}]" if n in defaults else n for n in names)
        body = "".join(f"    _set(self, {n!r}, {n})\n" for n in names)
        ns = {"_set": _set, "_d": defaults}
        exec(f"def __init__(self, {params}):\n{body}", ns)  # noqa: S102 - fixed template
        cls.__init__ = ns["__init__"]

    def __init__(self, *args, **kwargs):
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} arguments")
        for name, value in zip(names, args):
            _set(self, name, value)
        if len(args) < len(names):
            defaults = self._defaults
            for name in names[len(args):]:
                if name in kwargs:
                    _set(self, name, kwargs.pop(name))
                elif name in defaults:
                    _set(self, name, defaults[name])
                else:
                    raise TypeError(f"{type(self).__name__} needs '{name}'")
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected {sorted(kwargs)}")

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _key(self) -> tuple:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other):
        if self is other:
            return True
        return type(self) is type(other) and self._key() == other._key()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((type(self), self._key()))

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({inner})"

    def __reduce__(self):
        return (type(self), self._key())


class Func(Val):
    """A function or method of the scanned module (node: the parser's node; cls: its class, for methods)."""

    __slots__ = ('node', 'closure', 'cls')
    _defaults = {'cls': None}


class BoundFunc(Val):
    __slots__ = ('func', 'self_val')


class ClassV(Val):
    __slots__ = ('node',)


class Instance(Val):
    __slots__ = ('cls',)
