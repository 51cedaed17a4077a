"""The Gradio app: `ui` builds the page from one module per tab (`keyboard_tab`, `tables_tab`,
`sampling_tab`, `compare_tab`), whose module-level handlers take the models explicitly and call plain,
tested functions in `lm` and `demo.views`; `common` turns any error into a message."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported anywhere here: no phoning home
