"""The OpenBLAS that PyTorch's BLAS calls land in (Debian links libblas.so.3 to it).

torch.set_num_threads sets PyTorch's own threads only; OpenBLAS keeps a pthread pool of its own, so
a peer timed at N threads must set both. Returns None when the library cannot be loaded."""
import ctypes


def openblas():
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib
    except OSError:
        return None
