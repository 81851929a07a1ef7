"""Download buttons that work inside live views (issue #15: a click must do what it says).

A download button given a callable registers it with Streamlit's media file manager under a new id each time the
button is drawn, and the manager forgets the previous id as soon as the run that drew the new one ends. A live
view redraws every second or two, so a click that reached the server with the id the browser held a moment ago
found nothing ("Deferred file ... not found": measured, 1 export click in 20 on a Gates page following a run).
And the file a click builds is stored unreferenced, so two runs ending (two live parts of a page redrawing) before
the browser fetched it deleted it first (the download is cancelled: 1 click in 30 once the first race was fixed).
Here the manager keeps a forgotten callable, and a file a click has just built, for GRACE_SECONDS, long enough for
the browser to receive the button's new id and to fetch the file; the export is built from the figure on screen.

This reaches into the manager's private bookkeeping (streamlit is pinned to one version in requirements.txt);
tests/test_downloads.py drives the real manager and fails if that bookkeeping changes.
"""
from __future__ import annotations

import time

GRACE_SECONDS = 6.0  # > 2 redraws of the slowest live view (2 s), with room for a busy browser


def keep_forgotten_downloads(manager, seconds: float = GRACE_SECONDS) -> None:
    """Makes `manager` (a streamlit MediaFileManager) drop a deferred download's callable only once it has been
    unreferenced for `seconds`, instead of at the end of the run that replaced it. Idempotent."""
    if getattr(manager, "_rnnviz_grace", None) is not None:
        return
    forgotten: dict[str, float] = {}  # file id -> when no session referred to it any more

    def remove_orphaned_deferred_callables() -> None:  # called by the manager with its lock held
        now = time.monotonic()
        referenced = set()
        for by_coord in manager._files_by_session_and_coord.values():
            referenced.update(by_coord.values())
        for file_id in list(manager._deferred_callables):
            if file_id in referenced:
                forgotten.pop(file_id, None)
            elif now - forgotten.setdefault(file_id, now) > seconds:
                manager._drop_deferred_id(file_id)
                forgotten.pop(file_id, None)
        for file_id in [f for f in forgotten if f not in manager._deferred_callables]:
            del forgotten[file_id]

    served: dict[str, float] = {}  # id of a file a click just built -> when: the browser has yet to fetch it
    execute_deferred, inactive_file_ids = manager.execute_deferred, manager._get_inactive_file_ids

    def execute_and_keep(file_id: str) -> str:
        url = execute_deferred(file_id)  # "/media/<id of the stored file>.<ext>"
        served[url.rsplit("/", 1)[-1].split(".", 1)[0]] = time.monotonic()
        return url

    def inactive_but_not_just_served() -> set[str]:  # called by the manager with its lock held
        now = time.monotonic()
        for file_id in [f for f, t in served.items() if now - t > seconds]:
            del served[file_id]
        return inactive_file_ids() - set(served)

    manager._remove_orphaned_deferred_callables = remove_orphaned_deferred_callables
    manager.execute_deferred = execute_and_keep
    manager._get_inactive_file_ids = inactive_but_not_just_served
    manager._rnnviz_grace = seconds


def install() -> None:
    """keep_forgotten_downloads on this server's manager (a no-op outside `streamlit run`, as in AppTest)."""
    from streamlit import runtime

    if runtime.exists():
        keep_forgotten_downloads(runtime.get_instance().media_file_mgr)
