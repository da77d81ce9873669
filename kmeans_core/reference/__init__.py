"""k-means in plain NumPy: the version to read first.

Every function here does, slowly and in a few lines, what a numba kernel
does fast, and the tests hold the two equal. One module per kernel module:

- ``lloyd``: ``_kernels.py`` (the assignment, the update, Hamerly's bounds,
  the Lloyd loop, repeated rows). Read it first, top to bottom.
- ``seeding``: ``_kernels_seeding.py`` (greedy k-means++).
- ``minibatch``: ``_kernels_minibatch.py`` (a mini-batch step).
- ``colors``: ``_kernels_colors.py`` (an image's distinct colours).
- ``dither``: ``_kernels_dither.py`` (Floyd–Steinberg error diffusion).
"""
