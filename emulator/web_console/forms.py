"""The console's forms: who may post them, what they mean, and the answer after a change."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.wrappers import Request, Response

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
SAFE_METHODS = ("GET", "HEAD")


def refuse_foreign(request: Request, port: int | None) -> str:
    """Why a request is refused ("" when it is not).

    The console changes the stack (faults, redrives): a page of another site open in the
    same browser must not post to it (its Origin is not ours), nor read it through a DNS
    name rebound to 127.0.0.1 (its Host is not ours).
    """
    own = {f"{host}:{port}" for host in LOOPBACK_HOSTS}
    if request.host not in own:
        return f"the console answers only as {' or '.join(sorted(own))}, not {request.host}"
    origin = request.headers.get("Origin")
    if request.method not in SAFE_METHODS and origin and urlsplit(origin).netloc not in own:
        return f"a form of {origin} may not change this stack"
    return ""


def redirect(location: str) -> Response:
    return Response(status=303, headers={"Location": location})


def after_post(page: str, notice: str, error: str = "") -> Response:
    """Back to `page` (303), saying what was done: reloading it does not post again."""
    said = {key: value for key, value in (("notice", notice), ("error", error)) if value}
    return redirect(page + (f"?{urlencode(said)}" if said else ""))


def notices(request: Request) -> dict[str, str]:
    return {"notice": request.args.get("notice", ""), "error": request.args.get("error", "")}


def fault_args(form: Any) -> argparse.Namespace:
    """`messaging faults add`'s options, from the faults form (ValueError: not a number)."""

    def number(name: str, kind: type, default: Any = None) -> Any:
        text = form.get(name, "").strip()
        try:
            return kind(text) if text else default
        except ValueError:
            raise ValueError(f"{name}: {text!r} is not a number") from None

    kind = form.get("kind", "error")
    return argparse.Namespace(
        channel=form.get("channel", ""),
        address=form.get("address", "").strip() or None,
        error=form.get("error") if kind == "error" else None,
        quota=number("quota", int) if kind == "quota" else None,
        rate=number("rate", float, 1.0),
        times=number("times", int),
        seconds=number("seconds", float, 0.0),
    )
