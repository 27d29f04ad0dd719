"""Peak RSS of one C API session serving concurrent runs: loads an artifact with
libplumb_runtime (ctypes), runs it from THREADS threads at once (RUNS runs each, one OpenMP
thread per run) and prints the executors' memory as the process's peak RSS. Shows what the
executor pool costs per concurrent run (each has its arena; reordered weights are shared).

usage: python3 bench/session_rss.py MODEL.plumb [--threads N] [--runs N] [--lib PATH]"""
import argparse
import ctypes as C
import os
import resource
import threading

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


class Info(C.Structure):
    _fields_ = [("name", C.c_char_p), ("dtype", C.c_int), ("rank", C.c_size_t),
                ("shape", C.POINTER(C.c_int64)), ("size_bytes", C.c_size_t)]


class Tensor(C.Structure):
    _fields_ = [("dtype", C.c_int), ("rank", C.c_size_t), ("shape", C.POINTER(C.c_int64)),
                ("data", C.c_void_p), ("size_bytes", C.c_size_t)]


def tensors(lib, s, count, info_fn):
    out, keep = (Tensor * count)(), []
    for i in range(count):
        info = Info()
        assert info_fn(s, i, C.byref(info)) == 0, lib.plumb_last_error()
        buf = C.create_string_buffer(info.size_bytes)
        keep.append(buf)
        out[i] = Tensor(info.dtype, info.rank, info.shape, C.cast(buf, C.c_void_p),
                        info.size_bytes)
    return out, keep


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("artifact")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "lib", "libplumb_runtime.so"))
    a = ap.parse_args()
    lib = C.CDLL(a.lib)
    lib.plumb_last_error.restype = C.c_char_p
    opts = (C.c_int * 3)(1, 0, 0)  # num_threads 1, verify_checksum 0, max_concurrent_runs 0
    s = C.c_void_p()
    assert lib.plumb_session_create_from_file(a.artifact.encode(), opts, C.byref(s)) == 0, \
        lib.plumb_last_error()
    n_in, n_out = lib.plumb_session_input_count(s), lib.plumb_session_output_count(s)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def worker():
        ins, k1 = tensors(lib, s, n_in, lib.plumb_session_input_info)
        outs, k2 = tensors(lib, s, n_out, lib.plumb_session_output_info)
        for _ in range(a.runs):
            assert lib.plumb_session_run(s, ins, n_in, outs, n_out) == 0, lib.plumb_last_error()

    ts = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{a.threads} concurrent runs x {a.runs}: peak RSS {peak / 1024:.0f} MiB "
          f"(after loading: {base / 1024:.0f} MiB)")
    lib.plumb_session_destroy(s)


if __name__ == "__main__":
    main()
