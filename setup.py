# Only the native extension is declared here; metadata lives in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["python/nearvm/_build/ffibuilder.py:ffibuilder"])
