"""The budgets a model file is read within, and the error every refusal raises.

Every budget is checked before the bytes or objects it bounds are allocated; they
are kept in one place so that they can be reviewed together.
"""

# Budgets, checked before the bytes or objects they bound are allocated.
MAX_MANIFEST_BYTES = 16 * 2**20  # a manifest holds parameters, labels and small arrays
MAX_CONFIG_BYTES = 4 * 2**20  # a Keras config.json grows with the layers, not their widths
MAX_MEMBER_BYTES = 8 * 2**30  # any one member, uncompressed
MAX_RATIO = 100  # uncompressed / compressed, for members above RATIO_FLOOR
STORE_ABOVE = 2**20  # members larger than this are written uncompressed
RATIO_FLOOR = 2**20
MAX_MEMBERS = 64
MAX_JSON_DEPTH = 48
MAX_LABEL_CHARS = 1024  # one class label or feature name
MAX_STRING_ARRAY_BYTES = 64 * 2**20  # numpy pads every string to the longest
MAX_LAYERS = 512
MAX_WIDTH = 2**22  # units of one layer, or input features


class ModelFileError(ValueError):
    """A model file is not an skmlp model file, is damaged, or cannot be loaded here."""


def printable(name: str) -> str:
    """A name from a file, as one line of plain text: newlines, terminal escape
    sequences and other unprintable characters written as Python escapes."""
    return repr(str(name))[1:-1]
