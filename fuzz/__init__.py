"""nearvm's fuzz campaigns (README.md here): deterministic mutation fuzzing of the decoder and
validator, the artifact loader, execution against Wasmtime, and gas determinism.

Every input is a pure function of (target, seed, index), so a finding is replayed with
``python -m fuzz replay TARGET SEED INDEX``. Targets run in a child process watched by the
parent: a crash (a signal in native code) is recorded with its input and the run goes on.
"""
