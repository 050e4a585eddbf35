"""Every route that takes a ticket id, found by walking the application's routers (so a new route is
tried too), refuses another community's ticket for every method it has, as if the ticket did not exist."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.web_urldispatcher import PrefixedSubAppResource

from storage.models import Ticket
from tests.desk.conftest import World, csrf_of, login

Client = TestClient[Any, Any]
ID_PARTS = ("{ticket_id}", "{request_id}")


def ticket_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path) of every route with a ticket id; a sub-app's paths already carry its prefix."""
    found = []
    for resource in app.router.resources():
        if isinstance(resource, PrefixedSubAppResource):
            found += ticket_routes(resource._app)
            continue
        path = resource.canonical
        if any(part in path for part in ID_PARTS):
            found += [(route.method, path) for route in resource if route.method != "HEAD"]
    return found


async def test_no_route_lets_anyone_reach_another_communitys_ticket(client: Client, world: World) -> None:
    routes = ticket_routes(client.app)  # type: ignore[arg-type]
    assert ("GET", "/desk/tickets/{ticket_id}") in routes
    assert ("GET", "/api/v1/tickets/{ticket_id}") in routes
    assert ("GET", "/open311/v2/requests/{request_id}.json") in routes
    assert ("POST", "/desk/tickets/{ticket_id}/{action}") in routes
    assert ("POST", "/api/v1/tickets/{ticket_id}/actions") in routes
    csrf = await login(client, "chen")
    bearer = {"Authorization": f"Bearer {world.tokens['chen']}"}
    theirs, ours = world.tickets["nanhu"], world.tickets["water"]
    for method, template in routes:
        for ticket, expected in ((theirs, 404), (ours, None)):
            path = template.replace("{ticket_id}", str(ticket)).replace("{request_id}", str(ticket))
            path = path.replace("{action}", "resolve")
            params = {"api_key": world.tokens["chen"]} if path.startswith("/open311/") else {}
            form = {"_csrf": csrf, "note": "scope test"} if path.startswith("/desk/") else None
            body = {"action": "resolve", "note": "scope test"} if path.startswith("/api/") else None
            response = await client.request(
                method,
                path,
                headers=bearer,
                params=params,
                data=form if method == "POST" else None,
                json=body if method == "POST" else None,
                allow_redirects=False,
            )
            if expected is not None:
                assert response.status == expected, (method, path)
            else:
                assert response.status < 500, (method, path)
    # The other community's own committee does reach it: the 404s above were about scope, not existence.
    page = await client.get(f"/desk/tickets/{ours}")
    assert csrf_of(await page.text())
    own = await client.get(f"/api/v1/tickets/{theirs}", headers={"Authorization": f"Bearer {world.tokens['song']}"})
    assert own.status == 200
    async with world.store.sessions() as session:
        untouched = await session.get(Ticket, theirs)
    assert untouched is not None
    assert untouched.state == "assigned"
