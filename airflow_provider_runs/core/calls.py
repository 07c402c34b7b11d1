"""A hook call is written once: a generator that describes its requests and reads their answers.

A service hook writes each API call as a generator method that yields
:class:`~airflow_provider_runs.core.http.ApiRequest` objects, receives each answer as an
:class:`~airflow_provider_runs.core.http.ApiResponse` and returns the parsed result::

    class InferenceShHook(RunsHook):
        @api_call
        def get_task(self, task_id: str) -> Call[dict[str, Any]]:
            \"\"\"Read the full task (``GET /tasks/{id}``).\"\"\"
            response = yield ApiRequest("GET", f"/tasks/{_tid(task_id)}")
            return _task(unwrap(response.body))

        aget_task = get_task.aio

``hook.get_task(tid)`` runs it with the blocking driver (``hook.send``), ``await
hook.aget_task(tid)`` with the async one (``hook.asend``); the description holds no I/O, so the
two can never drift apart. A failed request is thrown into the generator at its ``yield``, so a
call may catch an error (``except ConflictError: ...``) and go on. Calls compose with
``yield from``: ``task = yield from self.get_task.steps(tid)``.

A call that produces many items (pagination) is an :func:`api_items` generator: it yields
requests and :class:`Item` values, and the drivers turn it into an iterator and an async
iterator (``iter_tasks`` / ``aiter_tasks``).

The async driver reads the connection settings (without blocking) before the description
starts, so a description may use ``self.settings`` freely.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from airflow_provider_runs.core.http import ApiRequest, ApiResponse

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Call = Generator[ApiRequest, ApiResponse, T]
"""A call description: yields requests, receives their responses, returns the result."""


@dataclass(frozen=True)
class Item(Generic[T_co]):
    """One value produced by an :func:`api_items` description (as opposed to a request)."""

    value: T_co


Items = Generator["ApiRequest | Item[T]", "ApiResponse | None", None]
"""An items description: yields requests (answered with responses) and :class:`Item` values."""


class Sender(Protocol):
    """What the drivers need of a hook."""

    def send(self, request: ApiRequest) -> ApiResponse:
        """Send a request, blocking."""
        ...

    async def asend(self, request: ApiRequest) -> ApiResponse:
        """Send a request on the event loop."""
        ...

    async def asettings(self) -> Any:
        """Read the connection settings without blocking."""
        ...


def _drive(steps: Items[T] | Call[T], send: Callable[[ApiRequest], ApiResponse]) -> Generator[T, None, Any]:
    """Drive a description with a blocking ``send``: yield its items, return its result. A
    failed send is thrown into the description (it may handle it, e.g. a 409 on cancel)."""
    try:
        step: Any = next(steps)
        while True:
            if isinstance(step, Item):
                yield step.value
                step = steps.send(None)  # type: ignore[arg-type]
                continue
            try:
                response = send(step)
            except Exception as exc:
                step = steps.throw(exc)
            else:
                step = steps.send(response)
    except StopIteration as done:
        return done.value
    finally:
        steps.close()


@dataclass(frozen=True)
class _Done:
    """A description returned (a coroutine cannot let ``StopIteration`` out)."""

    value: Any


async def _answer(
    steps: Items[T] | Call[T], send: Callable[[ApiRequest], Awaitable[ApiResponse]], request: ApiRequest
) -> Any:
    """Send ``request`` on the event loop and hand the answer (or the failure) to the description;
    return its next step, or :class:`_Done` with its result."""
    try:
        try:
            response = await send(request)
        except Exception as exc:
            return steps.throw(exc)
        return steps.send(response)
    except StopIteration as done:
        return _Done(done.value)


def run_sync(steps: Call[T], send: Callable[[ApiRequest], ApiResponse]) -> T:
    """Drive a call description with a blocking ``send``; return its result."""
    driver = _drive(steps, send)
    try:
        next(driver)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    driver.close()
    raise TypeError("a call description yielded an Item: decorate it with api_items")


def iter_sync(steps: Items[T], send: Callable[[ApiRequest], ApiResponse]) -> Iterator[T]:
    """Drive an items description with a blocking ``send``; yield its items lazily."""
    yield from _drive(steps, send)


async def run_async(steps: Call[T], send: Callable[[ApiRequest], Awaitable[ApiResponse]]) -> T:
    """Drive a call description with an async ``send``; return its result."""
    try:
        step: Any = next(steps)
        while not isinstance(step, _Done):
            step = await _answer(steps, send, step)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        steps.close()
    return step.value  # type: ignore[no-any-return]


async def iter_async(
    steps: Items[T], send: Callable[[ApiRequest], Awaitable[ApiResponse]]
) -> AsyncIterator[T]:
    """Drive an items description with an async ``send``; yield its items lazily."""
    try:
        step: Any = next(steps)
        while True:
            if isinstance(step, _Done):
                return
            if isinstance(step, Item):
                yield step.value
                step = steps.send(None)
            else:
                step = await _answer(steps, send, step)
    except StopIteration:
        return
    finally:
        steps.close()


class BoundCall(Generic[P, T]):
    """A call description bound to a hook: call it to run it blocking; :meth:`steps` gives the
    description itself (to compose with ``yield from``)."""

    __slots__ = ("_describe", "_hook")

    def __init__(self, describe: Callable[Concatenate[Any, P], Call[T]], hook: Sender) -> None:
        self._describe = describe
        self._hook = hook

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the call with the blocking driver; return its result."""
        return run_sync(self._describe(self._hook, *args, **kwargs), self._hook.send)

    def steps(self, *args: P.args, **kwargs: P.kwargs) -> Call[T]:
        """The call's description (a fresh generator)."""
        return self._describe(self._hook, *args, **kwargs)


class api_call(Generic[P, T]):
    """Decorator: a generator method describing one API call becomes a blocking method; its
    :attr:`aio` is the async twin (assign it in the class body: ``aget_x = get_x.aio``)."""

    def __init__(self, describe: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self.describe = describe
        self.__doc__ = describe.__doc__
        self.__name__ = describe.__name__
        self.__wrapped__ = describe

    @overload
    def __get__(self, hook: None, owner: type) -> api_call[P, T]: ...

    @overload
    def __get__(self, hook: Any, owner: type) -> BoundCall[P, T]: ...

    def __get__(self, hook: Any, owner: type) -> api_call[P, T] | BoundCall[P, T]:
        if hook is None:
            return self
        return BoundCall(self.describe, hook)

    @property
    def aio(self) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, T]]:
        """The async method running the same description (reads the settings first, without
        blocking, so the description may use ``self.settings``)."""
        describe = self.describe

        @functools.wraps(describe)
        async def run(hook: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
            await hook.asettings()
            return await run_async(describe(hook, *args, **kwargs), hook.asend)

        run.__doc__ = f"Async :meth:`{describe.__name__}`."
        run.__name__ = run.__qualname__ = f"a{describe.__name__}"
        return run


class api_items(Generic[P, T]):
    """Decorator: a generator method yielding requests and :class:`Item` values becomes a
    method returning an iterator; :attr:`aio` returns an async iterator."""

    def __init__(self, describe: Callable[Concatenate[Any, P], Items[T]]) -> None:
        self.describe = describe
        self.__doc__ = describe.__doc__
        self.__name__ = describe.__name__
        self.__wrapped__ = describe

    def __get__(self, hook: Any, owner: type) -> Any:
        if hook is None:
            return self
        return functools.partial(self._sync, hook)

    def _sync(self, hook: Sender, *args: Any, **kwargs: Any) -> Iterator[T]:
        return iter_sync(self.describe(hook, *args, **kwargs), hook.send)

    @property
    def aio(self) -> Callable[Concatenate[Any, P], AsyncIterator[T]]:
        """The async iterator method running the same description."""
        describe = self.describe

        async def run(hook: Any, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
            await hook.asettings()
            async for item in iter_async(describe(hook, *args, **kwargs), hook.asend):
                yield item

        run.__doc__ = f"Async :meth:`{describe.__name__}`."
        run.__name__ = run.__qualname__ = f"a{describe.__name__}"
        return run
