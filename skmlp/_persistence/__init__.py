"""Model files that are safe to load: no pickle, nothing imported from the file.

:func:`save` writes one zip file (``.skmlp``) holding

``skmlp.json``
    The manifest: format and version, the versions and Keras backend that wrote
    it, and the object: an estimator or a pipeline of steps, each with its class
    name (looked up in a fixed table of supported classes, never imported), its
    parameters and its fitted state as typed JSON, and the SHA-256 of every other
    member.
``skmlp.json.sha256``
    The SHA-256 of the manifest.
``models/<step>.keras``
    Each network in Keras' native format, loaded with ``safe_mode=True`` after its
    configuration has been checked place by place: each place (a layer, an
    activation, an initializer, a regularizer, a constraint, a dtype policy, the
    optimizer, loss and metrics) admits only Keras' own objects of its kind, each
    with only its known arguments, in range.

Checksums catch damaged, truncated or edited files. They are not a signature:
safety against a malicious author comes from loading nothing but JSON, numbers and
Keras' own layers, and from budgets checked before anything is allocated: member
sizes (read streamed, with a cap and a compression-ratio limit, each member once,
members whose bytes overlap or leave the file refused), the manifest's size
and nesting depth, label lengths, the state's keys, types and consistency, each
layer's width, and the network's parameter count and each layer's weight shapes
against the weights actually in the file. Every refusal is a
:class:`ModelFileError` that names the file.

Formats are told apart by content, never by name: :func:`load` refuses a pickle
(such as a ``joblib`` file) and says how to opt in; only :func:`load_pickle`, whose
name says what it does, unpickles.

The package, by concern: ``_json`` (typed JSON), ``_classes`` (the class table),
``_archive`` (format sniffing, the budgeted zip, the manifest), ``_keras`` (the
networks: shape and weights checks), ``_schema`` (what a network config may say,
place by place), ``_state`` (fitted-state schemas),
``_limits`` (the budgets and :class:`ModelFileError`) and ``_files`` (:func:`save`,
:func:`load`, :func:`load_pickle`).
"""

from ._archive import FORMAT_VERSION, file_format
from ._files import library_versions, load, load_pickle, save
from ._limits import ModelFileError

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "file_format",
    "library_versions",
    "load",
    "load_pickle",
    "save",
]
