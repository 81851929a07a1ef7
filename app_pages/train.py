"""Train: pick a task and a network, train it live, watch loss and gradients as they happen."""
import streamlit as st

from rnnviz.ui import links, live, state, train_form
from rnnviz.ui.safe import plain

st.title("Train a recurrent network")
notes = st.container()  # filled below: the controls read the link, then we can say what it got wrong
values = train_form.controls()
with notes:
    links.show_notes()
train_form.setup_io(values)


def start() -> None:
    """The Train button's callback: it runs before the page does, so the sidebar already lists the new run. It
    reads the controls as they are at the click (train_form.values), not as they were last drawn."""
    try:
        state.start_run(train_form.spec(train_form.values()))
    except ValueError as e:
        st.session_state["train.error"] = str(e)


train_form.start_note()
st.button("Train", type="primary", key="train.go", help="Start a run in a background worker.", on_click=start)
if "train.error" in st.session_state:
    st.error(plain(st.session_state.pop("train.error")))

run = state.pool().get(state.current_key().removeprefix("run:")) if state.current_key().startswith("run:") else None
if run is None:
    st.info("Press **Train** to start a run. Its loss, gradient norms and how far gradients reach back in time "
            "appear here as it learns; the other pages show its insides.")
    train_form.preview(values)
else:
    st.subheader(run.label)
    live.controls(run)
    live.panel(run)
