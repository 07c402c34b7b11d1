"""The emulator's stand-ins for the services' web apps: small HTML pages, without authentication.

A task's "Run" link opens the run's page in the service's web app; when the connection points at
the emulator, ``ServiceDescriptor.web_root`` makes that ``{API root}/app/...``
(:data:`~airflow_provider_runs.services.descriptor.EMULATOR_APP_PATH`), so a browser gets a page
there, not the API's 401. Each service registers its pages (``<service>/pages.py``) with
:func:`add_page`, at the path its real web app would use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from typing import Any, NamedTuple

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from airflow_provider_runs.services.descriptor import EMULATOR_APP_PATH
from airflow_provider_runs.testing.emulator.routing import Endpoints


class Page(NamedTuple):
    """What a page shows: its title and its fields (name -> value; ``None`` values are left out)."""

    title: str
    fields: Mapping[str, Any]


Lookup = Callable[[Mapping[str, str]], Page | None]
"""The page of a request's path parameters; ``None``: nothing there (a 404 page)."""


def render(page: Page, status_code: int = 200) -> HTMLResponse:
    """The page as an HTML document.

    :param page: what it shows.
    :param status_code: the HTTP status.
    """
    rows = "".join(
        f"<dt>{escape(str(name))}</dt><dd>{escape(str(value))}</dd>"
        for name, value in page.fields.items()
        if value is not None
    )
    title = escape(page.title)
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1><dl>{rows}</dl><p><small>airflow-provider-runs emulator</small></p>"
        "</body></html>"
    )
    return HTMLResponse(body, status_code=status_code)


def add_page(api: Endpoints, path: str, lookup: Lookup, missing: str) -> None:
    """Serve ``GET {API root}/app{path}``: the page ``lookup`` finds, else a 404 page.

    :param api: the service's endpoints (the page is not guarded: it is no API call).
    :param path: the page's path in the real web app (``/runs/{uid}``).
    :param lookup: finds the page of the path's parameters.
    :param missing: what the 404 page is titled with (``"Run not found"``).
    """

    async def page(request: Request) -> Response:
        found = lookup(request.path_params)
        if found is None:
            return render(Page(missing, dict(request.path_params)), status_code=404)
        return render(found)

    page.__name__ = f"page_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}"
    api.route(EMULATOR_APP_PATH + path, "GET", guarded=False)(page)
