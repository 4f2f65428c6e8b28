import os
import subprocess
import sys

import pytest

import allocator

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = f"import sys; sys.path.insert(0, {HERE!r}); import allocator; allocator.reexec(); print(allocator.current(), sys.argv[1:])"


def run(env_extra: dict, tmp_path) -> str:
    script = tmp_path / "child.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MEMLAB_MALLOC")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, str(script), "--keep", "args"], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(allocator.tcmalloc_path() is None, reason="libtcmalloc-minimal4 is not installed")
def test_training_process_restarts_on_tcmalloc_with_its_arguments(tmp_path):
    assert run({}, tmp_path) == "tcmalloc ['--keep', 'args']"


def test_opt_out_keeps_the_system_allocator(tmp_path):
    assert run({"MEMLAB_MALLOC": "system"}, tmp_path) == "glibc ['--keep', 'args']"


def test_no_library_means_no_restart(monkeypatch):
    monkeypatch.setattr(allocator, "CANDIDATES", ("/nonexistent/libtcmalloc_minimal.so.4",))
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.delenv("MEMLAB_MALLOC", raising=False)
    monkeypatch.setattr(os, "execve", lambda *a: pytest.fail("restarted without a library"))
    allocator.reexec()
    assert allocator.current() == "glibc"


def blas_of_child(env_extra: dict) -> str:
    code = f"import sys; sys.path.insert(0, {HERE!r}); import torch, allocator; print(allocator.blas())"
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_the_blas_torch_runs_on_is_read_from_the_process_not_assumed():
    import torch  # noqa: F401  (loads libblas.so.3)
    assert allocator.blas() in ("OpenBLAS", "reference")
    if os.path.exists(os.path.join(allocator.REFERENCE_BLAS_DIR, "libblas.so.3")):  # Debian's libblas3, forced first on the path
        assert blas_of_child({"LD_LIBRARY_PATH": allocator.REFERENCE_BLAS_DIR}) == "reference"
    if os.path.exists(os.path.join(allocator.OPENBLAS_DIR, "libblas.so.3")):
        assert blas_of_child({"LD_LIBRARY_PATH": allocator.OPENBLAS_DIR}) == "OpenBLAS"
    assert allocator.cpu_name()
