"""medai-edu: the helper library of the Medical AI and Pathological Data Mining courses."""

__version__ = "0.1.0"
