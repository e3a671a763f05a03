"""symcodec: send neural networks over narrow, noisy links.

Only the degrees of freedom of symmetric convolution kernels are transmitted; the receiver
rebuilds the kernels and projects them onto the symmetric subspace, removing the part of
the channel noise that lies outside it.
"""

from .errors import SymcodecError
from .symmetry import Symmetry, define_symmetry, get_symmetry, symmetry_names

__version__ = "0.1.0"

__all__ = [
    "SymcodecError",
    "Symmetry",
    "define_symmetry",
    "get_symmetry",
    "symmetry_names",
    "__version__",
]
