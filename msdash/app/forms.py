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


def param_input(param, key, *, label=None, where=st):
    """One widget for one :class:`~msdash.features.registry.Param` of a generator or a trainer; returns its value.

    Numbers get bounded number inputs (ints step by 1 and stay ints), choices a select box, booleans a checkbox,
    text a text input (empty → None). ``where`` is the container or column to draw in.
    """
    label = label or param.name.replace("_", " ")
    help_text = param.help or None
    if param.type == "choice":
        choices = list(param.choices)
        return where.selectbox(label, choices, index=choices.index(param.default), key=key, help=help_text)
    if param.type == "bool":
        return where.checkbox(label, value=bool(param.default), key=key, help=help_text)
    if param.type in ("int", "float"):
        # Streamlit refuses bounds of another numeric type than the value
        cast = int if param.type == "int" else float
        low, high = (None if v is None else cast(v) for v in (param.min, param.max))
        step = {"step": 1} if param.type == "int" else {}
        return cast(where.number_input(label, value=cast(param.default), min_value=low, max_value=high, key=key,
                                       help=help_text, **step))
    text = where.text_input(label, value="" if param.default is None else str(param.default), key=key,
                            help=help_text)
    return text.strip() or None


def generator_params(params, *, key_prefix):
    """One input per generator parameter, side by side; returns the values.

    Parameters
    ----------
    params : GeneratorSpec or sequence of Param
        A :data:`msdash.synthetic.generate.GENERATORS` entry or its ``params``.
    key_prefix : str
        Widget keys are ``f"{key_prefix}_{param.name}"``.
    """
    params = getattr(params, "params", params)
    with st.container(horizontal=True):
        return {param.name: param_input(param, f"{key_prefix}_{param.name}") for param in params}
