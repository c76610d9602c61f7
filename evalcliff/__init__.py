"""evalcliff: catch the quantization quality cliff before a quantized model ships.

Importing the package is cheap: heavy dependencies (torch, transformers, lm-eval)
are imported only by the modules that use them.
"""

__version__ = "0.1.0"
SCHEMA_VERSION = 1
