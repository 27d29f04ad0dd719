/* examples/c/run_model.c: run a compiled model with libplumb_runtime.
 * usage: run_model MODEL.plumb IN0.bin [IN1.bin ...]   (raw little-endian tensors)
 * writes out0.bin, out1.bin, ... and prints each output's name and shape. */
#include <plumb/plumb.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what) {
  fprintf(stderr, "run_model: %s: %s\n", what, plumb_last_error());
  return 2;
}

int main(int argc, char **argv) {
  plumb_session *session = NULL;
  if (argc < 2) {
    fprintf(stderr, "usage: run_model MODEL.plumb INPUT.bin...\n");
    return 2;
  }
  if (plumb_session_create_from_file(argv[1], NULL, &session) != PLUMB_OK)
    return fail("load");
  size_t n_in = plumb_session_input_count(session);
  size_t n_out = plumb_session_output_count(session);
  if ((size_t)argc != 2 + n_in) {
    fprintf(stderr, "run_model: the model takes %zu inputs\n", n_in);
    return 2;
  }
  plumb_tensor *in = calloc(n_in, sizeof *in), *out = calloc(n_out, sizeof *out);
  for (size_t i = 0; i < n_in + n_out; ++i) {
    plumb_tensor_info info;
    int is_in = i < n_in;
    size_t k = is_in ? i : i - n_in;
    if (is_in)
      plumb_session_input_info(session, k, &info);
    else
      plumb_session_output_info(session, k, &info);
    plumb_tensor *t = is_in ? &in[k] : &out[k];
    t->dtype = info.dtype;
    t->rank = info.rank;
    t->shape = info.shape;
    t->size_bytes = info.size_bytes;
    t->data = malloc(info.size_bytes ? info.size_bytes : 1);
    if (is_in) { /* the caller owns input buffers: fill them from the file */
      FILE *f = fopen(argv[2 + k], "rb");
      size_t got = f ? fread(t->data, 1, info.size_bytes, f) : 0;
      if (f)
        fclose(f);
      if (got != info.size_bytes) {
        fprintf(stderr, "run_model: %s: want %zu bytes for input '%s'\n", argv[2 + k],
                info.size_bytes, info.name);
        return 2;
      }
    }
  }
  if (plumb_session_run(session, in, n_in, out, n_out) != PLUMB_OK)
    return fail("run");
  for (size_t k = 0; k < n_out; ++k) {
    plumb_tensor_info info;
    char name[32];
    plumb_session_output_info(session, k, &info);
    printf("%s %s[", info.name, plumb_dtype_name(info.dtype));
    for (size_t d = 0; d < info.rank; ++d)
      printf(d ? "x%lld" : "%lld", (long long)info.shape[d]);
    printf("]\n");
    snprintf(name, sizeof name, "out%zu.bin", k);
    FILE *f = fopen(name, "wb");
    if (!f || fwrite(out[k].data, 1, out[k].size_bytes, f) != out[k].size_bytes)
      return 2;
    fclose(f);
  }
  for (size_t i = 0; i < n_in; ++i)
    free(in[i].data);
  for (size_t k = 0; k < n_out; ++k)
    free(out[k].data);
  free(in);
  free(out);
  plumb_session_destroy(session);
  return 0;
}
