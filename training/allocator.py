"""Run a training process on tcmalloc when the machine has it (Debian: libtcmalloc-minimal4).

Why: every step allocates activations of ~100 MB (540 images x 64 channels x 28 x 28 floats).
glibc's malloc serves blocks over 32 MB with a fresh mmap and gives them back on free, so each step
page-faults and zeroes every activation again; on a virtual machine the kernel time dominates
(measured on this project's 2-core AMD EPYC VM: 2.06 s per training step of the shipped recipe with
glibc, 0.50 s with tcmalloc, `bench/training-speed.md`). tcmalloc keeps freed memory for reuse.
The arithmetic is the same, only where the bytes live changes.

`reexec()` is called first thing by train.py: if tcmalloc is found and not
loaded yet, the process restarts itself with LD_PRELOAD set; `MEMLAB_MALLOC=system` opts out.
"""
from __future__ import annotations

import os
import sys

CANDIDATES = ("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
              "/usr/lib/libtcmalloc_minimal.so.4")


def tcmalloc_path() -> str | None:
    return next((p for p in CANDIDATES if os.path.exists(p)), None)


def current() -> str:
    """'tcmalloc' when this process runs on it, else 'glibc' -- for the run's summary."""
    return "tcmalloc" if "tcmalloc" in os.environ.get("LD_PRELOAD", "") else "glibc"


REFERENCE_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/blas"  # Debian's libblas3 (first on LD_LIBRARY_PATH forces it)
OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"  # Debian's libopenblas0-pthread


def blas() -> str:
    """'OpenBLAS' or 'reference' from the libblas.so.3 this process has mapped ('unknown' where there is no
    /proc or torch has not loaded one yet): Debian's python3-torch runs on whichever the system's
    alternatives point to (libopenblas0-pthread when installed, else libblas3's reference BLAS)."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    lib = next((line.split()[-1] for line in maps.splitlines() if "libblas.so.3" in line), "")
    return "OpenBLAS" if "openblas" in lib else "reference" if lib else "unknown"


def cpu_name() -> str:
    """The processor's model name, for records of how long something took."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        import platform
        return platform.processor() or platform.machine()


def reexec() -> None:
    """Prepare a training process before torch loads: one OpenBLAS thread unless told otherwise (the
    fully connected layer runs on BLAS; one thread beats one per core, as oneDNN's OpenMP pool already
    holds the cores: bench/training-speed.md), then restart on tcmalloc if present."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if os.environ.get("MEMLAB_MALLOC") == "system" or current() == "tcmalloc":
        return
    lib = tcmalloc_path()
    if lib is None:
        return
    env = dict(os.environ, LD_PRELOAD=":".join(filter(None, [lib, os.environ.get("LD_PRELOAD")])))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)
