"""nearvm's version (read by the build and by ``nearvm --version``)."""

__version__ = "0.1.0"
