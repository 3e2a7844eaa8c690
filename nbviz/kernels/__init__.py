"""Pure compute: numpy / torch in, numpy out. No traitlets, no ipywidgets, no display."""
