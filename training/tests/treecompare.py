"""Compare the fixtures a script writes with the committed ones."""


def assert_close_tree(a, b, path="", tol=1e-9):
    """Same structure and decisions (ints, strings, booleans) exactly; floats to tol: the last bits
    of float maths depend on the BLAS library and its threads (CI's Debian BLAS vs OpenBLAS)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            assert_close_tree(a[k], b[k], f"{path}.{k}", tol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close_tree(x, y, f"{path}[{i}]", tol)
    elif isinstance(a, float) or isinstance(b, float):
        assert abs(a - b) <= tol * (1 + abs(b)), f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"
