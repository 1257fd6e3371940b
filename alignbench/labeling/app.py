"""The labeling web app (FastAPI on uvicorn): one page per item, a small JSON API, token auth.

Routes (every one answers 401 without a valid token, including unknown paths and the static files):
  GET  /login?token=T   checks T, sets an HttpOnly SameSite=Strict cookie, redirects to /
  GET  /                the current item (assigning one if needed), rendered server-side with Jinja2
                        (autoescaped: model outputs routinely contain HTML), or "nothing left"
  GET  /api/next        the same item as JSON;  GET /api/progress  {done, assigned, released}
  GET  /api/items/ID    one of YOUR items (404 for anyone else's: a labeler sees only their own items)
  POST /api/submit      {item_id, ranks, likert, flags} in display order -> {status: recorded|duplicate}
  GET  /static/NAME     the page's CSS/JS, from a fixed list (no path from the request reaches the disk)
API clients may send `Authorization: Bearer T` instead of the cookie.  Bad input is a 4xx with a message
(labels.LabelError, or FastAPI's 422 for a body of the wrong shape); the request log carries method,
path (never the query string), status, time and the labeler's name -- never a token.
"""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from alignbench.config import resources_dir
from alignbench.labeling.assignment import LEASE_MINUTES, display_view, next_item
from alignbench.labeling.auth import COOKIE
from alignbench.labeling.labels import FLAGS, LabelError, Submission, check_submission
from alignbench.labeling.project import Project

log = logging.getLogger("alignbench.labeling")
STATIC = {"label.js": "text/javascript; charset=utf-8", "label.css": "text/css; charset=utf-8"}
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
LETTERS = "ABCDEFGHI"


def _token(request: Request) -> str | None:
    if request.url.path == "/login":
        return request.query_params.get("token")
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(COOKIE)


def create_app(project_dir, lease_minutes: float | None = LEASE_MINUTES) -> FastAPI:
    """lease_minutes: how long an item may stay open before another labeler with nothing left to do may take it
    over (assignment.py, step 4); None or 0: never."""
    project = Project(project_dir)
    assets = resources_dir() / "labeling"
    env = Environment(loader=FileSystemLoader(assets), autoescape=select_autoescape(["j2", "html"]))
    static = {name: (assets / name).read_bytes() for name in STATIC}
    app = FastAPI(title="alignbench labeling", docs_url=None, redoc_url=None, openapi_url=None)

    def page(template: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(env.get_template(template).render(**context), status_code=status, headers=HEADERS)

    @app.middleware("http")
    async def authenticate(request: Request, call_next):
        start = time.perf_counter()
        labeler = await run_in_threadpool(project.labeler_for_token, _token(request))
        if labeler is None:
            if request.url.path.startswith("/api/"):
                response = JSONResponse(
                    {"detail": "a valid labeler token is required"}, status_code=401, headers=HEADERS
                )
            else:
                response = page(
                    "message.html.j2",
                    401,
                    title="Not signed in",
                    message="Open the personal link you were given (alignbench label add-labeler).",
                )
        else:
            request.state.labeler = labeler
            response = await call_next(request)
        log.info(
            "%s %s %d %.1fms %s",
            request.method,
            request.url.path,
            response.status_code,
            1000 * (time.perf_counter() - start),
            labeler["name"] if labeler else "-",
        )
        return response

    @app.exception_handler(LabelError)
    async def label_error(request: Request, exc: LabelError):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=HEADERS)

    @app.get("/login")
    def login(request: Request):
        response = RedirectResponse("/", status_code=303, headers=HEADERS)
        response.set_cookie(COOKIE, request.query_params["token"], httponly=True, samesite="strict", path="/")
        return response

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request):
        labeler = request.state.labeler
        item = next_item(project, labeler["labeler_id"], lease_minutes)
        return page(
            "page.html.j2",
            labeler=labeler["name"],
            task=project.task,
            flags=FLAGS,
            letters=LETTERS,
            item=None if item is None else display_view(item),
            progress=project.progress(labeler["labeler_id"]),
        )

    @app.get("/api/next")
    def api_next(request: Request):
        labeler_id = request.state.labeler["labeler_id"]
        item = next_item(project, labeler_id, lease_minutes)
        return JSONResponse(
            {
                "task": project.task,
                "item": None if item is None else display_view(item),
                "progress": project.progress(labeler_id),
            },
            headers=HEADERS,
        )

    @app.get("/api/progress")
    def api_progress(request: Request):
        return JSONResponse(project.progress(request.state.labeler["labeler_id"]), headers=HEADERS)

    @app.get("/api/items/{item_id:path}")
    def api_item(request: Request, item_id: str):
        labeler_id = request.state.labeler["labeler_id"]
        item = project.assigned_item(labeler_id, item_id)
        if item is None:
            raise LabelError(404, f"item {item_id[:80]!r} is not assigned to you")
        label = project.label_of(labeler_id, item_id)
        if label is not None:  # back to display order, as the page sent it
            label = {k: [v[src] for src in item["display"]] for k, v in label.items()}
        return JSONResponse({"item": display_view(item), "label": label}, headers=HEADERS)

    @app.post("/api/submit")
    def api_submit(request: Request, submission: Submission):
        labeler_id = request.state.labeler["labeler_id"]
        item = project.assigned_item(labeler_id, submission.item_id)
        if item is None:
            raise LabelError(404, f"item {submission.item_id[:80]!r} is not assigned to you")
        label = check_submission(submission, len(item["responses"]))
        status = project.submit(labeler_id, submission.item_id, label)
        return JSONResponse({"status": status, "item_id": submission.item_id}, headers=HEADERS)

    @app.get("/static/{name}")
    def static_file(name: str):
        if name not in static:
            return Response("not found", status_code=404, headers=HEADERS)
        return Response(static[name], media_type=STATIC[name], headers=HEADERS)

    return app


def serve(project_dir, host: str = "127.0.0.1", port: int = 8000, lease_minutes: float | None = LEASE_MINUTES) -> None:
    """Run the app with uvicorn.  uvicorn's access log is off (it would print /login?token=...); ours
    logs paths only."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(create_app(project_dir, lease_minutes), host=host, port=port, access_log=False, log_level="warning")
