// The only file that knows about Node: it checks arguments, takes views of
// the caller's Float32Arrays and runs the kernels on N-API async workers.
//
// The TypeScript layer validates everything first and gives clear errors;
// the checks here are a second line so that calling the addon directly with
// bad arguments throws instead of crashing the process.
#include <napi.h>

#include <string>
#include <vector>

#include "../kernels/dispatch.h"
#include "../kernels/gemm.h"
#include "../kernels/gru.h"
#include "../kernels/threadpool.h"

namespace {

using namespace gatedrnn;

// Typed-array arguments kept alive (and their memory pinned) while a worker
// runs on another thread.
class PinnedArrays {
 public:
  float* take(const Napi::Object& opts, const char* name, size_t needed, bool optional) {
    Napi::Env env = opts.Env();
    Napi::Value v = opts.Get(name);
    if (optional && (v.IsNull() || v.IsUndefined())) return nullptr;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env, std::string(name) + " must be a Float32Array");
    }
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    if (a.ElementLength() < needed) {
      throw Napi::RangeError::New(env, std::string(name) + " has " + std::to_string(a.ElementLength()) +
                                           " elements, needs " + std::to_string(needed));
    }
    refs_.push_back(Napi::Persistent(static_cast<Napi::Object>(a)));
    return needed == 0 ? nullptr : a.Data();
  }

 private:
  std::vector<Napi::ObjectReference> refs_;
};

int takeInt(const Napi::Object& opts, const char* name, int min) {
  Napi::Value v = opts.Get(name);
  if (!v.IsNumber()) throw Napi::TypeError::New(opts.Env(), std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min) || d > 2147483647.0 || d != static_cast<double>(static_cast<long long>(d))) {
    throw Napi::RangeError::New(opts.Env(), std::string(name) + " must be an integer >= " + std::to_string(min));
  }
  return static_cast<int>(d);
}

int takeEnum(const Napi::Object& opts, const char* name, int count) {
  int v = takeInt(opts, name, 0);
  if (v >= count) throw Napi::RangeError::New(opts.Env(), std::string(name) + " is out of range");
  return v;
}

struct GruCall {
  GruShape shape;
  GruOptions options;
  GruWeights weights;
  PinnedArrays pinned;
  const float* x = nullptr;
  const float* h0 = nullptr;
};

void readGruCall(const Napi::Object& o, GruCall& c) {
  c.shape.batch = takeInt(o, "batch", 0);
  c.shape.steps = takeInt(o, "steps", 0);
  c.shape.inputSize = takeInt(o, "inputSize", 1);
  c.shape.units = takeInt(o, "units", 1);
  c.options.resetAfter = o.Get("resetAfter").ToBoolean().Value();
  c.options.activation = static_cast<Activation>(takeEnum(o, "activation", 4));
  c.options.recurrentActivation = static_cast<GateActivation>(takeEnum(o, "recurrentActivation", 3));
  const size_t B = c.shape.batch, T = c.shape.steps, I = c.shape.inputSize, H = c.shape.units;
  if (B * T * (I > 3 * H ? I : 3 * H) > (size_t(1) << 31)) {
    throw Napi::RangeError::New(o.Env(), "batch * steps * features exceeds 2^31 elements");
  }
  c.x = c.pinned.take(o, "x", B * T * I, false);
  c.h0 = c.pinned.take(o, "h0", B * H, false);
  c.weights.kernel = c.pinned.take(o, "kernel", I * 3 * H, false);
  c.weights.recurrentKernel = c.pinned.take(o, "recurrentKernel", H * 3 * H, false);
  c.weights.inputBias = c.pinned.take(o, "inputBias", 3 * H, true);
  c.weights.recurrentBias = c.pinned.take(o, "recurrentBias", 3 * H, true);
}

// Base for the kernels' workers: resolves a promise when Execute is done.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
};

class GruForwardWorker : public PromiseWorker {
 public:
  GruForwardWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env) {
    readGruCall(o, call_);
    const size_t B = call_.shape.batch, T = call_.shape.steps, H = call_.shape.units;
    output_ = call_.pinned.take(o, "output", B * T * H, false);
    cache_.gates = call_.pinned.take(o, "gates", B * T * 3 * H, true);
    cache_.hnCache = call_.pinned.take(o, "hnCache", B * T * H, true);
    training_ = cache_.gates != nullptr;
    if (training_ && call_.options.resetAfter && !cache_.hnCache && B * T > 0) {
      throw Napi::TypeError::New(env, "hnCache is required for a resetAfter training forward");
    }
  }
  void Execute() override {
    gruForward(call_.shape, call_.options, call_.weights, call_.x, call_.h0, output_,
               training_ ? &cache_ : nullptr);
  }

 private:
  GruCall call_;
  GruCache cache_;
  float* output_ = nullptr;
  bool training_ = false;
};

class GruBackwardWorker : public PromiseWorker {
 public:
  GruBackwardWorker(Napi::Env env, const Napi::Object& o) : PromiseWorker(env) {
    readGruCall(o, call_);
    const size_t B = call_.shape.batch, T = call_.shape.steps, I = call_.shape.inputSize, H = call_.shape.units;
    output_ = call_.pinned.take(o, "output", B * T * H, false);
    cache_.gates = call_.pinned.take(o, "gates", B * T * 3 * H, false);
    cache_.hnCache = call_.pinned.take(o, "hnCache", call_.options.resetAfter ? B * T * H : 0, !call_.options.resetAfter);
    dOutput_ = call_.pinned.take(o, "dOutput", B * T * H, true);
    dLast_ = call_.pinned.take(o, "dLast", B * H, true);
    grads_.dx = call_.pinned.take(o, "dx", B * T * I, false);
    grads_.dh0 = call_.pinned.take(o, "dh0", B * H, false);
    grads_.dKernel = call_.pinned.take(o, "dKernel", I * 3 * H, false);
    grads_.dRecurrentKernel = call_.pinned.take(o, "dRecurrentKernel", H * 3 * H, false);
    grads_.dInputBias = call_.pinned.take(o, "dInputBias", 3 * H, true);
    grads_.dRecurrentBias = call_.pinned.take(o, "dRecurrentBias", 3 * H, true);
  }
  void Execute() override {
    gruBackward(call_.shape, call_.options, call_.weights, call_.x, call_.h0, output_, cache_,
                dOutput_, dLast_, grads_);
  }

 private:
  GruCall call_;
  GruCache cache_;
  GruGrads grads_;
  const float* output_ = nullptr;
  const float* dOutput_ = nullptr;
  const float* dLast_ = nullptr;
};

Napi::Object argObject(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(info.Env(), "expected one options object");
  }
  return info[0].As<Napi::Object>();
}

Napi::Value GruForward(const Napi::CallbackInfo& info) {
  auto* worker = new GruForwardWorker(info.Env(), argObject(info));
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

Napi::Value GruBackward(const Napi::CallbackInfo& info) {
  auto* worker = new GruBackwardWorker(info.Env(), argObject(info));
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

// sgemm({transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc}),
// synchronous: used by tests of the wrapper and by the benchmark's peak.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Napi::Object o = argObject(info);
  bool ta = o.Get("transA").ToBoolean().Value(), tb = o.Get("transB").ToBoolean().Value();
  int m = takeInt(o, "m", 0), n = takeInt(o, "n", 0), k = takeInt(o, "k", 0);
  int lda = takeInt(o, "lda", 1), ldb = takeInt(o, "ldb", 1), ldc = takeInt(o, "ldc", 1);
  // Rows and columns of each operand as stored (row-major).
  size_t aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
  if (lda < static_cast<int>(aCols) || ldb < static_cast<int>(bCols) || ldc < n) {
    throw Napi::RangeError::New(info.Env(), "a leading dimension is smaller than its matrix's row length");
  }
  auto need = [](size_t rows, size_t cols, size_t ld) { return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols; };
  PinnedArrays pinned;
  const float* a = pinned.take(o, "a", need(aRows, aCols, lda), false);
  const float* b = pinned.take(o, "b", need(bRows, bCols, ldb), false);
  float* c = pinned.take(o, "c", need(m, n, ldc), false);
  float alpha = o.Get("alpha").ToNumber().FloatValue(), beta = o.Get("beta").ToNumber().FloatValue();
  sgemm(ta ? Trans::Yes : Trans::No, tb ? Trans::Yes : Trans::No, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  return info.Env().Undefined();
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "n must be a number");
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1 || n > 1024) throw Napi::RangeError::New(info.Env(), "n must be between 1 and 1024");
  setNumThreads(n);
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), getNumThreads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blasConfig", blasConfig());
  o.Set("blasCore", blasCoreName());
  o.Set("blasThreads", blasGetNumThreads());
  Napi::Array features = Napi::Array::New(env);
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  const char* names[] = {"sse4.2", "avx", "avx2", "fma", "avx512f"};
  bool has[] = {__builtin_cpu_supports("sse4.2") != 0, __builtin_cpu_supports("avx") != 0,
                __builtin_cpu_supports("avx2") != 0, __builtin_cpu_supports("fma") != 0,
                __builtin_cpu_supports("avx512f") != 0};
  uint32_t count = 0;
  for (size_t i = 0; i < sizeof has / sizeof has[0]; i++)
    if (has[i]) features.Set(count++, names[i]);
#endif
  o.Set("cpuFeatures", features);
  o.Set("gateMathDispatch", GATEDRNN_GATE_DISPATCH);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("gruForward", Napi::Function::New(env, GruForward));
  exports.Set("gruBackward", Napi::Function::New(env, GruBackward));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(gatedrnn, Init)
