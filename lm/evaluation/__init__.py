"""Comparing the models on held-out text: metrics, a simulated typist per model, the report and its plots.

Run it with ``python -m lm.evaluation.evaluate`` (see that module's docstring). Sits above the models.
"""
