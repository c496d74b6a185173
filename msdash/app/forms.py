"""Widgets built from registry entries: one input per extractor parameter."""

import streamlit as st


def extractor_params(spec, *, key_prefix="param"):
    """Draw one widget per parameter of ``spec`` and return the chosen values.

    Parameters
    ----------
    spec : msdash.features.registry.ExtractorSpec
    key_prefix : str
        Widget keys are ``f"{key_prefix}_{spec.name}_{param.name}"`` (stable, so AppTest can set them).

    Returns
    -------
    dict
        Parameter name → value, in the types the extractor expects.
    """
    values = {}
    for param in spec.params:
        key = f"{key_prefix}_{spec.name}_{param.name}"
        label = param.name.replace("_", " ")
        if param.type == "bool":
            values[param.name] = st.checkbox(label, value=bool(param.default), key=key, help=param.help or None)
        elif param.type == "choice":
            choices = list(param.choices)
            values[param.name] = st.selectbox(label, choices, index=choices.index(param.default), key=key,
                                              help=param.help or None)
        elif param.type == "int":
            optional = param.default is None
            if optional:
                on = st.checkbox(f"set {label}", value=False, key=f"{key}_on", help=param.help or None)
                if not on:
                    values[param.name] = None
                    continue
            values[param.name] = int(st.number_input(
                label, value=int(param.default if param.default is not None else (param.min or 1)),
                min_value=param.min, max_value=param.max, step=1, key=key, help=param.help or None))
        elif param.type == "float":
            values[param.name] = float(st.number_input(label, value=float(param.default), min_value=param.min,
                                                       max_value=param.max, key=key, help=param.help or None))
        else:
            text = st.text_input(label, value="" if param.default is None else str(param.default), key=key,
                                 help=param.help or None)
            values[param.name] = text.strip() or None
    return values


def generator_params(defaults, *, key_prefix):
    """One number input per generator parameter (ints stay ints), side by side; returns the values."""
    values = {}
    with st.container(horizontal=True):
        for name, default in defaults.items():
            key = f"{key_prefix}_{name}"
            if isinstance(default, int):
                values[name] = int(st.number_input(name.replace("_", " "), value=default, step=1, key=key))
            else:
                values[name] = float(st.number_input(name.replace("_", " "), value=float(default), key=key))
    return values
