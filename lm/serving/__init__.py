"""What a suggestion strip needs from the models, with no UI: `keyboard`.

Sits above the models (`lm.counting`, `lm.transformer`) and below `demo/`, which draws what it returns.
"""
