"""Compress images by colour quantization: ``python compress.py photo.jpg -k 16``.

A thin entry point; the command line lives in ``kmeans_core/cli/`` and
``python compress.py --help`` documents it. Run from the repository root it
works without installing the package (the root is on ``sys.path``).
"""

import sys

from kmeans_core.cli import main

if __name__ == "__main__":  # guard: worker processes re-import this module
    sys.exit(main())
