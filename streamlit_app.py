"""The architecture sandbox in the browser: `streamlit run streamlit_app.py` (or `make run`).

Four pages over one design kept in a local SQLite store: Build, Run and results, Experiments, Challenges.
When the store cannot be opened (SANDBOX_DB misconfigured), every page says why, and nothing else runs.
"""

import streamlit as st

from app import state
from app.text import md


def main() -> None:
    st.set_page_config(page_title="Architecture sandbox", page_icon=":material/hub:", layout="wide")
    page = st.navigation([
        st.Page("app/build.py", title="Build", icon=":material/construction:", default=True),
        st.Page("app/run.py", title="Run and results", icon=":material/monitoring:"),
        st.Page("app/experiments.py", title="Experiments", icon=":material/science:"),
        st.Page("app/challenges.py", title="Challenges", icon=":material/flag:"),
    ])
    problem = state.store_problem()
    if problem:
        st.error(md(problem), icon=":material/database:")
        return
    state.init()
    page.run()


# Streamlit runs this file as __main__; a process-pool worker that re-imports it (as
# __mp_main__) must not start the app.
if __name__ == "__main__":
    main()
