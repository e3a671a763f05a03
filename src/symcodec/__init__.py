"""symcodec: send neural networks over narrow, noisy links.

Only the degrees of freedom of symmetric convolution kernels are transmitted; the receiver
rebuilds the kernels and projects them onto the symmetric subspace, removing the part of
the channel noise that lies outside it.

Every entry point takes an ``nn.Module`` or a state dict:

>>> import symcodec
>>> model = symcodec.models.build_model("deepcnn")
>>> symcodec.symmetrize(model, "central-skew")    # constrain the conv kernels (train it now)
DeepCNN(...)
>>> blob = symcodec.encode(model, symmetry="central-skew", bits=8)   # bytes of a .symc stream
>>> received = symcodec.decode(blob)                                 # a state dict
>>> link = symcodec.channel.make_channel("awgn", snr_db=20.0)
>>> rx = symcodec.transmit(model, link, symmetry="central-skew", bits=8, seed=0)  # noisy link
>>> sorted(rx.state_dict) == sorted(received)
True
"""

from . import channel, codec, models
from .api import decode, encode, load_file, plain_state_dict, save_file, transmit
from .constrain import symmetrize, unsymmetrize
from .errors import SymcodecError
from .symmetry import Symmetry, define_symmetry, get_symmetry, symmetry_names
from .version import __version__

__all__ = [
    "SymcodecError",
    "Symmetry",
    "channel",
    "codec",
    "decode",
    "define_symmetry",
    "encode",
    "get_symmetry",
    "load_file",
    "models",
    "plain_state_dict",
    "save_file",
    "symmetrize",
    "symmetry_names",
    "transmit",
    "unsymmetrize",
    "__version__",
]
