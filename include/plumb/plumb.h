/* plumb.h: the C API of libplumb_runtime, which loads a compiled model (MODEL.plumb, written
 * by `plumb compile`) and runs it on the CPU. C99; no MLIR, no C++ types, no exceptions.
 *
 * Ownership, in one place:
 *  - A plumb_session is created by plumb_session_create_from_file/_from_memory and freed by
 *    plumb_session_destroy. Strings and shape arrays it hands out (names, plumb_tensor_info)
 *    belong to the session and stay valid until it is destroyed.
 *  - plumb_session_run reads caller-owned input buffers and writes into caller-owned output
 *    buffers; plumb keeps no pointer to either once it returns.
 *  - Error messages (plumb_last_error) belong to the calling thread and stay valid until that
 *    thread's next plumb call.
 *
 * Threads: one session serves any number of concurrent plumb_session_run calls (each run gets
 * an execution context of its own from a pool inside the session: temporaries, per-run kernel
 * state, reordered weights). Creating and destroying a session are not concurrent with runs of
 * that same session.
 *
 * Every function that can fail returns a plumb_status; on failure it writes nothing to its
 * out-parameters except as documented, and plumb_last_error() says what went wrong in one
 * line that names the file (for artifacts) and the problem. */
#ifndef PLUMB_PLUMB_H
#define PLUMB_PLUMB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PLUMB_API __attribute__((visibility("default")))
#else
#define PLUMB_API
#endif

typedef enum plumb_status {
  PLUMB_OK = 0,
  PLUMB_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, index out of range, wrong dtype/shape/size */
  PLUMB_ERROR_IO = 2,               /* the file cannot be opened, mapped or read */
  PLUMB_ERROR_NOT_ARTIFACT = 3,     /* not a plumb artifact (bad magic) */
  PLUMB_ERROR_VERSION_MISMATCH = 4, /* an artifact format version this library does not read */
  PLUMB_ERROR_TRUNCATED = 5,        /* shorter than its header says */
  PLUMB_ERROR_CORRUPT = 6,          /* checksum mismatch or inconsistent contents */
  PLUMB_ERROR_UNSUPPORTED = 7,      /* a well-formed plan these kernels cannot prepare */
  PLUMB_ERROR_RUNTIME = 8,          /* a kernel failed during a run */
  PLUMB_ERROR_OUT_OF_MEMORY = 9
} plumb_status;

/* Element types; the codes are those of the artifact format. */
typedef enum plumb_dtype {
  PLUMB_F32 = 0,
  PLUMB_F16 = 1, /* IEEE half, stored as uint16_t */
  PLUMB_BF16 = 2,
  PLUMB_F64 = 3,
  PLUMB_I64 = 4,
  PLUMB_I32 = 5,
  PLUMB_I8 = 6,
  PLUMB_U8 = 7,
  PLUMB_BOOL = 8, /* one byte, 0 or 1 */
  PLUMB_I16 = 9,
  PLUMB_U16 = 10,
  PLUMB_U32 = 11,
  PLUMB_U64 = 12
} plumb_dtype;

typedef struct plumb_session plumb_session;

typedef struct plumb_options {
  /* OpenMP threads each run uses for its kernels; 0 = the library default (all cores).
   * Concurrent runs each use this many, so several runs at once want a smaller number. */
  int num_threads;
  /* 1 (the default): hash the whole artifact at load and refuse it on a mismatch. This reads
   * every byte of the file once (4-5 GB/s measured, ~25 ms per 100 MB). 0 skips it: the
   * structure is still checked, so a bad file cannot crash the loader, but corrupt weights
   * would go unnoticed. */
  int verify_checksum;
  /* The most runs one session executes at once (each needs its own working memory: the
   * plan's intermediate arena and scratch); callers beyond that wait for a run to finish.
   * 0 (the default): the machine's hardware thread count. */
  int max_concurrent_runs;
} plumb_options;

/* A tensor's description, owned by the session. */
typedef struct plumb_tensor_info {
  const char *name; /* the ONNX graph input/output name */
  plumb_dtype dtype;
  size_t rank;
  const int64_t *shape; /* rank dims (static) */
  size_t size_bytes;    /* product of dims x element size */
} plumb_tensor_info;

/* A caller-owned buffer passed to plumb_session_run. For inputs, dtype, rank and shape must
 * equal the model's (plumb_session_input_info) and data must hold size_bytes >= the tensor's
 * bytes, aligned to the element size. For outputs the same fields are checked against
 * plumb_session_output_info, and data must be writable and overlap no input. */
typedef struct plumb_tensor {
  plumb_dtype dtype;
  size_t rank;
  const int64_t *shape;
  void *data;
  size_t size_bytes;
} plumb_tensor;

/* "0.1.0 (artifact format 6)"; static storage. */
PLUMB_API const char *plumb_version(void);
/* "PLUMB_OK", "PLUMB_ERROR_CORRUPT", ...; static storage. */
PLUMB_API const char *plumb_status_name(plumb_status status);
/* "f32", "i64", ...; NULL for an unknown code. */
PLUMB_API const char *plumb_dtype_name(plumb_dtype dtype);
/* Bytes per element; 0 for an unknown code. */
PLUMB_API size_t plumb_dtype_size(plumb_dtype dtype);
/* The message of the last failed plumb call on this thread ("" if none). */
PLUMB_API const char *plumb_last_error(void);

/* Defaults: num_threads 0, verify_checksum 1, max_concurrent_runs 0. */
PLUMB_API void plumb_options_init(plumb_options *options);

/* Loads an artifact by memory-mapping it: the weights are read from the mapping, not copied
 * (the file must not be truncated while the session lives). `options` may be NULL. On
 * success *session is a new session; on failure it is set to NULL. */
PLUMB_API plumb_status plumb_session_create_from_file(const char *path,
                                                      const plumb_options *options,
                                                      plumb_session **session);
/* The same from an artifact image in memory. The bytes are COPIED (into 64-byte-aligned
 * storage), so the caller may free `data` as soon as this returns. */
PLUMB_API plumb_status plumb_session_create_from_memory(const void *data, size_t size,
                                                        const plumb_options *options,
                                                        plumb_session **session);
/* Frees the session and everything it owns. NULL is allowed. */
PLUMB_API void plumb_session_destroy(plumb_session *session);

/* The cap on concurrent runs the session was created with (max_concurrent_runs resolved). */
PLUMB_API size_t plumb_session_max_concurrent_runs(const plumb_session *session);
PLUMB_API size_t plumb_session_input_count(const plumb_session *session);
PLUMB_API size_t plumb_session_output_count(const plumb_session *session);
PLUMB_API plumb_status plumb_session_input_info(const plumb_session *session, size_t index,
                                                plumb_tensor_info *info);
PLUMB_API plumb_status plumb_session_output_info(const plumb_session *session, size_t index,
                                                 plumb_tensor_info *info);

/* Runs the model once: n_inputs inputs in plumb_session_input_info order, n_outputs outputs
 * in plumb_session_output_info order (both counts must match the model's). Writes every
 * output buffer on success; on failure output contents are unspecified. Thread-safe.
 * A model with an output whose shape its values decide (plumb_session_output_is_run_time)
 * cannot be run this way: it fails with PLUMB_ERROR_RUNTIME naming that output. Use
 * plumb_session_run_alloc for such models. */
PLUMB_API plumb_status plumb_session_run(plumb_session *session, const plumb_tensor *inputs,
                                         size_t n_inputs, const plumb_tensor *outputs,
                                         size_t n_outputs);

/* 1 when output `index` has a shape its values decide (NonZero, Unique, Compress,
 * NonMaxSuppression and what is computed from them; `plumb inspect` prints "run-time:"), so
 * each run may give it another shape: plumb_session_output_info then gives the shape of the
 * compile-time run, a sample. 0 otherwise, and for a NULL session or an index out of range. */
PLUMB_API int plumb_session_output_is_run_time(const plumb_session *session, size_t index);

/* An output tensor the library allocated (plumb_session_run_alloc); the caller releases it. */
typedef struct plumb_value plumb_value;

/* Runs the model once like plumb_session_run, but the library allocates every output with the
 * shape this run gives it: outputs[i] (n_outputs equal to the model's output count) receives a
 * new value, in plumb_session_output_info order. Any model, including those with run-time
 * shapes. On failure every outputs[i] is NULL. Thread-safe. */
PLUMB_API plumb_status plumb_session_run_alloc(plumb_session *session, const plumb_tensor *inputs,
                                               size_t n_inputs, plumb_value **outputs,
                                               size_t n_outputs);
/* The value's name, dtype, rank, shape and size; the strings and the shape array live as long
 * as the value. */
PLUMB_API plumb_status plumb_value_info(const plumb_value *value, plumb_tensor_info *info);
/* The value's elements, row-major (size_bytes of them), as long as the value lives; NULL for
 * a NULL value. */
PLUMB_API const void *plumb_value_data(const plumb_value *value);
/* Frees the value. NULL is allowed. */
PLUMB_API void plumb_value_release(plumb_value *value);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PLUMB_PLUMB_H */
