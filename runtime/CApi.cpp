// The C API (include/plumb/plumb.h) over Session, the artifact reader and the CPU kernels.
// Every entry point catches everything: no exception crosses into C.
#include "plumb/plumb.h"

#include "backends/cpu/CpuBackend.h"
#include "runtime/Artifact.h"
#include "runtime/Session.h"

#include <memory>
#include <new>
#include <string>
#include <vector>

#ifndef PLUMB_VERSION_STRING
#define PLUMB_VERSION_STRING "unknown"
#endif

using plumb::ArtifactError;
using plumb::DType;

static_assert(PLUMB_F32 == int(DType::F32) && PLUMB_F16 == int(DType::F16) &&
                  PLUMB_BF16 == int(DType::BF16) && PLUMB_F64 == int(DType::F64) &&
                  PLUMB_I64 == int(DType::I64) && PLUMB_I32 == int(DType::I32) &&
                  PLUMB_I8 == int(DType::I8) && PLUMB_U8 == int(DType::U8) &&
                  PLUMB_BOOL == int(DType::Bool) && PLUMB_I16 == int(DType::I16) &&
                  PLUMB_U16 == int(DType::U16) && PLUMB_U32 == int(DType::U32) &&
                  PLUMB_U64 == int(DType::U64),
              "plumb_dtype codes must equal plumb::DType");

struct plumb_session {
  std::unique_ptr<plumb::Session> session;
  int threads = 0;
  std::vector<plumb_tensor_info> inputs, outputs; // point into session->plan()
};

struct plumb_value {
  plumb::Tensor tensor;
  std::string name;
  plumb::Shape shape; // the tensor's, for plumb_tensor_info
};

namespace {

thread_local std::string lastError;

plumb_status fail(plumb_status status, const std::string &msg) {
  lastError = msg;
  return status;
}

plumb_status artifactStatus(ArtifactError::Kind kind) {
  switch (kind) {
  case ArtifactError::Kind::Io:
    return PLUMB_ERROR_IO;
  case ArtifactError::Kind::NotArtifact:
    return PLUMB_ERROR_NOT_ARTIFACT;
  case ArtifactError::Kind::Version:
    return PLUMB_ERROR_VERSION_MISMATCH;
  case ArtifactError::Kind::Truncated:
    return PLUMB_ERROR_TRUNCATED;
  case ArtifactError::Kind::Corrupt:
  case ArtifactError::Kind::InvalidPlan:
    return PLUMB_ERROR_CORRUPT;
  }
  return PLUMB_ERROR_CORRUPT;
}

// Runs `f`, turning any exception into a status (`generic` for plumb::Error and others).
template <typename F> plumb_status guarded(plumb_status generic, const std::string &prefix, F &&f) {
  try {
    f();
    lastError.clear();
    return PLUMB_OK;
  } catch (const ArtifactError &e) {
    return fail(artifactStatus(e.kind()), e.what());
  } catch (const std::bad_alloc &) {
    return fail(PLUMB_ERROR_OUT_OF_MEMORY, prefix + "out of memory");
  } catch (const std::exception &e) {
    return fail(generic, prefix + e.what());
  } catch (...) {
    return fail(generic, prefix + "unknown error");
  }
}

plumb_tensor_info describe(const plumb::Buffer &b) {
  plumb_tensor_info info;
  info.name = b.name.c_str();
  info.dtype = plumb_dtype(b.dtype);
  info.rank = b.shape.size();
  info.shape = b.shape.data();
  info.size_bytes = b.bytes();
  return info;
}

plumb_status createSession(plumb::Plan (*load)(const void *, size_t, const std::string &,
                                               const plumb::ArtifactReadOptions &),
                           const void *data, size_t size, const std::string &label,
                           const plumb_options *options, plumb_session **out) {
  if (!out)
    return fail(PLUMB_ERROR_INVALID_ARGUMENT, "plumb_session_create: session is NULL");
  *out = nullptr;
  plumb_options opts;
  plumb_options_init(&opts);
  if (options)
    opts = *options;
  if (opts.num_threads < 0)
    return fail(PLUMB_ERROR_INVALID_ARGUMENT, "plumb_session_create: num_threads < 0");
  if (opts.max_concurrent_runs < 0)
    return fail(PLUMB_ERROR_INVALID_ARGUMENT, "plumb_session_create: max_concurrent_runs < 0");
  plumb::ArtifactReadOptions ro;
  ro.verifyChecksum = opts.verify_checksum != 0;
  plumb::Plan plan;
  plumb_status s =
      guarded(PLUMB_ERROR_CORRUPT, label + ": ", [&] { plan = load(data, size, label, ro); });
  if (s != PLUMB_OK)
    return s;
  auto session = std::make_unique<plumb_session>();
  session->threads = opts.num_threads;
  s = guarded(PLUMB_ERROR_UNSUPPORTED, label + ": ", [&] {
    if (opts.num_threads > 0)
      plumb::cpu::setCpuThreads(opts.num_threads);
    session->session =
        std::make_unique<plumb::Session>(std::move(plan), plumb::cpu::cpuKernelRegistry(),
                                         size_t(opts.max_concurrent_runs));
    const plumb::Plan &p = session->session->plan();
    for (int id : p.inputs)
      session->inputs.push_back(describe(p.buffers[size_t(id)]));
    for (int id : p.outputs)
      session->outputs.push_back(describe(p.buffers[size_t(id)]));
  });
  if (s != PLUMB_OK)
    return s;
  *out = session.release();
  return PLUMB_OK;
}

plumb::Plan loadFile(const void *path, size_t, const std::string &,
                     const plumb::ArtifactReadOptions &ro) {
  return plumb::readArtifact(static_cast<const char *>(path), ro);
}

// Checks one caller tensor against the model's and wraps it (no copy).
plumb::Tensor wrap(const plumb_tensor &t, const plumb_tensor_info &want, const char *what,
                   size_t index) {
  std::string label = std::string(what) + " " + std::to_string(index) + " ('" + want.name + "')";
  bool shapeOk = t.rank == want.rank && (want.rank == 0 || t.shape);
  for (size_t d = 0; shapeOk && d < want.rank; ++d)
    shapeOk = t.shape[d] == want.shape[d];
  if (t.dtype != want.dtype || !shapeOk) {
    std::string got = plumb_dtype_name(t.dtype) ? plumb_dtype_name(t.dtype) : "?";
    got += "[";
    for (size_t d = 0; t.shape && d < t.rank && d < 16; ++d)
      got += (d ? "x" : "") + std::to_string(t.shape[d]);
    throw plumb::Error(label + " must be " + plumb_dtype_name(want.dtype) + "[" +
                       plumb::shapeToString(plumb::Shape(want.shape, want.shape + want.rank)) +
                       "], got " + got + "]");
  }
  if (want.size_bytes && !t.data)
    throw plumb::Error(label + " has no data");
  if (t.size_bytes < want.size_bytes)
    throw plumb::Error(label + " has " + std::to_string(t.size_bytes) + " bytes, needs " +
                       std::to_string(want.size_bytes));
  if (reinterpret_cast<uintptr_t>(t.data) % plumb::dtypeSize(DType(want.dtype)) != 0)
    throw plumb::Error(label + " data is not aligned to its element size");
  return plumb::Tensor::borrow(DType(want.dtype), plumb::Shape(want.shape, want.shape + want.rank),
                               t.data, nullptr);
}

// The argument checks both run functions share: a session, and the model's counts of inputs
// and outputs with their arrays. PLUMB_OK when they hold.
template <typename Out>
plumb_status checkCounts(const std::string &fn, const plumb_session *session,
                         const plumb_tensor *inputs, size_t n_inputs, Out *outputs,
                         size_t n_outputs) {
  if (!session)
    return fail(PLUMB_ERROR_INVALID_ARGUMENT, fn + ": session is NULL");
  if (n_inputs != session->inputs.size() || n_outputs != session->outputs.size() ||
      (n_inputs && !inputs) || (n_outputs && !outputs))
    return fail(PLUMB_ERROR_INVALID_ARGUMENT,
                fn + ": the model takes " + std::to_string(session->inputs.size()) +
                    " inputs and " + std::to_string(session->outputs.size()) + " outputs, got " +
                    std::to_string(n_inputs) + " and " + std::to_string(n_outputs));
  return PLUMB_OK;
}

std::vector<plumb::Tensor> wrapInputs(const plumb_session *session, const plumb_tensor *inputs) {
  std::vector<plumb::Tensor> in;
  for (size_t i = 0; i < session->inputs.size(); ++i)
    in.push_back(wrap(inputs[i], session->inputs[i], "input", i));
  return in;
}

plumb_status tensorInfo(const plumb_session *session, size_t index, plumb_tensor_info *out,
                        bool input) {
  const char *fn = input ? "plumb_session_input_info" : "plumb_session_output_info";
  if (!session || !out)
    return fail(PLUMB_ERROR_INVALID_ARGUMENT, std::string(fn) + ": NULL argument");
  const auto &list = input ? session->inputs : session->outputs;
  if (index >= list.size())
    return fail(PLUMB_ERROR_INVALID_ARGUMENT, std::string(fn) + ": index " + std::to_string(index) +
                                                  " of " + std::to_string(list.size()));
  *out = list[index];
  return PLUMB_OK;
}

} // namespace

extern "C" {

const char *plumb_version(void) {
  static const std::string v = std::string(PLUMB_VERSION_STRING) + " (artifact format " +
                               std::to_string(plumb::kArtifactVersion) + ")";
  return v.c_str();
}

const char *plumb_status_name(plumb_status status) {
  switch (status) {
  case PLUMB_OK:
    return "PLUMB_OK";
  case PLUMB_ERROR_INVALID_ARGUMENT:
    return "PLUMB_ERROR_INVALID_ARGUMENT";
  case PLUMB_ERROR_IO:
    return "PLUMB_ERROR_IO";
  case PLUMB_ERROR_NOT_ARTIFACT:
    return "PLUMB_ERROR_NOT_ARTIFACT";
  case PLUMB_ERROR_VERSION_MISMATCH:
    return "PLUMB_ERROR_VERSION_MISMATCH";
  case PLUMB_ERROR_TRUNCATED:
    return "PLUMB_ERROR_TRUNCATED";
  case PLUMB_ERROR_CORRUPT:
    return "PLUMB_ERROR_CORRUPT";
  case PLUMB_ERROR_UNSUPPORTED:
    return "PLUMB_ERROR_UNSUPPORTED";
  case PLUMB_ERROR_RUNTIME:
    return "PLUMB_ERROR_RUNTIME";
  case PLUMB_ERROR_OUT_OF_MEMORY:
    return "PLUMB_ERROR_OUT_OF_MEMORY";
  }
  return "PLUMB_ERROR_UNKNOWN";
}

const char *plumb_dtype_name(plumb_dtype dtype) {
  if (int(dtype) < 0 || int(dtype) > int(DType::U64))
    return nullptr;
  return plumb::dtypeName(DType(dtype));
}

size_t plumb_dtype_size(plumb_dtype dtype) {
  if (int(dtype) < 0 || int(dtype) > int(DType::U64))
    return 0;
  return plumb::dtypeSize(DType(dtype));
}

const char *plumb_last_error(void) { return lastError.c_str(); }

void plumb_options_init(plumb_options *options) {
  if (!options)
    return;
  options->num_threads = 0;
  options->verify_checksum = 1;
  options->max_concurrent_runs = 0;
}

plumb_status plumb_session_create_from_file(const char *path, const plumb_options *options,
                                            plumb_session **session) {
  if (!path) {
    if (session)
      *session = nullptr;
    return fail(PLUMB_ERROR_INVALID_ARGUMENT, "plumb_session_create_from_file: path is NULL");
  }
  return createSession(loadFile, path, 0, path, options, session);
}

plumb_status plumb_session_create_from_memory(const void *data, size_t size,
                                              const plumb_options *options,
                                              plumb_session **session) {
  if (!data) {
    if (session)
      *session = nullptr;
    return fail(PLUMB_ERROR_INVALID_ARGUMENT, "plumb_session_create_from_memory: data is NULL");
  }
  return createSession(plumb::readArtifactFromMemory, data, size, "<memory>", options, session);
}

void plumb_session_destroy(plumb_session *session) { delete session; }

size_t plumb_session_max_concurrent_runs(const plumb_session *session) {
  return session ? session->session->maxExecutors() : 0;
}

size_t plumb_session_input_count(const plumb_session *session) {
  return session ? session->inputs.size() : 0;
}

size_t plumb_session_output_count(const plumb_session *session) {
  return session ? session->outputs.size() : 0;
}

plumb_status plumb_session_input_info(const plumb_session *session, size_t index,
                                      plumb_tensor_info *info_) {
  return tensorInfo(session, index, info_, true);
}

plumb_status plumb_session_output_info(const plumb_session *session, size_t index,
                                       plumb_tensor_info *info_) {
  return tensorInfo(session, index, info_, false);
}

plumb_status plumb_session_run(plumb_session *session, const plumb_tensor *inputs, size_t n_inputs,
                               const plumb_tensor *outputs, size_t n_outputs) {
  const std::string fn = "plumb_session_run";
  if (plumb_status s = checkCounts(fn, session, inputs, n_inputs, outputs, n_outputs))
    return s;
  std::vector<plumb::Tensor> in, out;
  plumb_status s = guarded(PLUMB_ERROR_INVALID_ARGUMENT, fn + ": ", [&] {
    in = wrapInputs(session, inputs);
    for (size_t i = 0; i < n_outputs; ++i)
      out.push_back(wrap(outputs[i], session->outputs[i], "output", i));
  });
  if (s != PLUMB_OK)
    return s;
  return guarded(PLUMB_ERROR_RUNTIME, fn + ": ", [&] {
    if (session->threads > 0)
      plumb::cpu::setCpuThreads(session->threads);
    session->session->runInto(in, out);
  });
}

int plumb_session_output_is_run_time(const plumb_session *session, size_t index) {
  if (!session || index >= session->outputs.size())
    return 0;
  const plumb::Plan &plan = session->session->plan();
  return plan.buffers[size_t(plan.outputs[index])].runTimeShape ? 1 : 0;
}

plumb_status plumb_session_run_alloc(plumb_session *session, const plumb_tensor *inputs,
                                     size_t n_inputs, plumb_value **outputs, size_t n_outputs) {
  const std::string fn = "plumb_session_run_alloc";
  for (size_t i = 0; outputs && i < n_outputs; ++i)
    outputs[i] = nullptr;
  if (plumb_status s = checkCounts(fn, session, inputs, n_inputs, outputs, n_outputs))
    return s;
  std::vector<plumb::Tensor> in, out;
  plumb_status s =
      guarded(PLUMB_ERROR_INVALID_ARGUMENT, fn + ": ", [&] { in = wrapInputs(session, inputs); });
  if (s != PLUMB_OK)
    return s;
  std::vector<std::unique_ptr<plumb_value>> made;
  s = guarded(PLUMB_ERROR_RUNTIME, fn + ": ", [&] {
    if (session->threads > 0)
      plumb::cpu::setCpuThreads(session->threads);
    out = session->session->run(in);
    for (size_t i = 0; i < out.size(); ++i) {
      auto v = std::make_unique<plumb_value>();
      v->tensor = std::move(out[i]);
      v->name = session->outputs[i].name;
      v->shape = v->tensor.shape();
      made.push_back(std::move(v));
    }
  });
  if (s != PLUMB_OK)
    return s;
  for (size_t i = 0; i < made.size(); ++i)
    outputs[i] = made[i].release();
  return PLUMB_OK;
}

plumb_status plumb_value_info(const plumb_value *value, plumb_tensor_info *info) {
  if (!value || !info)
    return fail(PLUMB_ERROR_INVALID_ARGUMENT, "plumb_value_info: NULL argument");
  info->name = value->name.c_str();
  info->dtype = plumb_dtype(value->tensor.dtype());
  info->rank = value->shape.size();
  info->shape = value->shape.data();
  info->size_bytes = value->tensor.nbytes();
  return PLUMB_OK;
}

const void *plumb_value_data(const plumb_value *value) {
  return value ? value->tensor.raw() : nullptr;
}

void plumb_value_release(plumb_value *value) { delete value; }

} // extern "C"
