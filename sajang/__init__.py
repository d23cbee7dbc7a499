from pathlib import Path

__version__ = "0.1.0"

# Files the package ships (the demo manual, classifier examples, review weights, evaluation cases).
PACKAGE_DATA = Path(__file__).resolve().parent / "data"
