"""The public audit bundle download, published when the funder certifies the result."""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.wrappers import Response

from pb_app.services.bundle import BundleNotAvailable, public_bundle

bp = Blueprint("bundle", __name__)


@bp.get("/rounds/<slug>/results/bundle.zip")
def download(slug: str) -> Response | tuple[str, int]:
    """The round's audit bundle (zip); a clear 404 page until the result is certified."""
    try:
        name, data = public_bundle(slug)
    except BundleNotAvailable as error:
        return render_template("errors/error.html", title="No audit bundle yet", detail=str(error),
                               code=404), 404  # fmt: skip
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
