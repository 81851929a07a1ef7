"""Issue #15: an export click in a live view found "Deferred file not found" when the view had redrawn the button
a moment before (1 click in 20 on a Gates page following a run). Streamlit's own media file manager, driven as a
redrawing fragment drives it, keeps the callable of a redrawn button for a grace period, then drops it."""
import time

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from rnnviz.ui.downloads import keep_forgotten_downloads


def redraw(manager, version: int) -> str:
    """One run of a fragment that draws a download button at the same place: a new deferred id, then the sweep
    Streamlit makes when a run ends."""
    file_id = manager.add_deferred(lambda: f"figure {version}".encode(), "text/html", "1.2.0", "figure.html")
    manager.remove_orphaned_files()
    return file_id


def test_streamlit_alone_forgets_a_button_s_previous_id_at_the_next_redraw():
    """The bug, on the manager as Streamlit ships it (if this starts failing, Streamlit changed its bookkeeping:
    re-check rnnviz/ui/downloads.py)."""
    manager = MediaFileManager(MemoryMediaFileStorage("/media"))
    old = redraw(manager, 1)
    redraw(manager, 2)
    with pytest.raises(MediaFileStorageError, match="not found"):
        manager.execute_deferred(old)


def test_a_redrawn_button_s_previous_id_still_downloads_for_the_grace_period_then_goes():
    manager = MediaFileManager(MemoryMediaFileStorage("/media"))
    keep_forgotten_downloads(manager, seconds=0.5)
    keep_forgotten_downloads(manager, seconds=99)  # installed once per server, however often pages call it
    old = redraw(manager, 1)
    new = [redraw(manager, v) for v in (2, 3)][-1]
    assert manager.execute_deferred(old).startswith("/media/")  # the click that raced the redraw downloads
    assert manager.execute_deferred(new).startswith("/media/")
    time.sleep(0.6)
    redraw(manager, 4)  # the next sweep after the grace period drops it; the button's current id stays
    with pytest.raises(MediaFileStorageError, match="not found"):
        manager.execute_deferred(old)
    assert len(manager._deferred_callables) <= 3, "callables of old redraws pile up"


def test_the_file_a_click_built_outlives_two_sweeps_until_the_browser_fetched_it():
    """Streamlit stores the file a click builds unreferenced: two runs ending (two live parts of the page) before
    the browser fetched it deleted it, and the download was cancelled."""
    plain, kept = MediaFileManager(MemoryMediaFileStorage("/media")), MediaFileManager(MemoryMediaFileStorage("/media"))
    keep_forgotten_downloads(kept, seconds=0.5)
    for manager in (plain, kept):
        url = manager.execute_deferred(redraw(manager, 1))
        manager.remove_orphaned_files()
        manager.remove_orphaned_files()
        stored = url.rsplit("/", 1)[-1].split(".", 1)[0]
        present = stored in manager._file_metadata
        assert present == (manager is kept), ("kept" if present else "deleted", manager is kept)
    time.sleep(0.6)
    kept.remove_orphaned_files()
    kept.remove_orphaned_files()
    assert stored not in kept._file_metadata, "a served file is never deleted"
