"""A finished app is freed: nothing global keeps an app (and its voice and embedding models) alive."""

from __future__ import annotations

import gc
import weakref

from fastapi import FastAPI

from conftest import SettingsFactory
from interviewai.app import create_app


async def _run_once(make_settings: SettingsFactory) -> weakref.ref[FastAPI]:
    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        pass
    return weakref.ref(app)


async def test_an_app_is_garbage_once_its_lifespan_has_ended(make_settings: SettingsFactory) -> None:
    # Each app holds a loaded voice and embedding model (~200 MB); a test suite creates hundreds of apps,
    # so a reference that outlives the app (a closure registered somewhere global) exhausts memory.
    gone = await _run_once(make_settings)
    gc.collect()
    assert gone() is None, [type(r).__name__ for r in gc.get_referrers(gone())]
