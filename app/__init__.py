"""The Streamlit app: one module per page (build, run, challenges) and small shared modules.

UI code only: pages read inputs with ``*_ui()`` functions, call the sandbox
library, and draw with ``show_*()`` functions. Nothing in ``sandbox/`` imports
this package or streamlit.
"""
