// The only file that knows about Node: it checks arguments, copies what an
// async worker reads into memory the worker owns, runs the kernels on N-API
// async workers, and hands results back as ArrayBuffers over native memory.
//
// Ownership is the point of this file. Nothing a worker touches on its thread
// belongs to JavaScript: inputs are copied when the call is made, weights live
// in a handle made once by createGruWeights, outputs and the training cache
// are allocated here and only become visible to JavaScript when the worker is
// done. So no buffer the caller detaches, resizes or lets the GC collect
// while a worker runs can be read or written after it is freed.
//
// The TypeScript layer validates everything first and gives the friendly
// errors; the checks here are a second line so that calling the addon
// directly with bad arguments throws instead of crashing the process.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../kernels/buffer.h"
#include "../kernels/dispatch.h"
#include "../kernels/gemm.h"
#include "../kernels/packed_gemm.h"
#include "../kernels/parallel_gemm.h"
#include "../kernels/gru.h"
#include "../kernels/lstm.h"
#include "../kernels/simple_rnn.h"
#include "../kernels/threadpool.h"

namespace {

using namespace gatedrnn;

using Floats = FloatBuffer;
using SharedFloats = std::shared_ptr<Floats>;

// Floats that outlive the call: results for JavaScript, a training cache's
// buffers, copies of the inputs (buffer.h says why these have their own
// free list).
SharedFloats heldFloats(size_t n) { return std::make_shared<Floats>(n, BlockUse::Held); }

// ---- argument reading -------------------------------------------------------
// Property reads can run user code (getters), so every call first reads all
// its properties into Values, and only then looks at their contents: no user
// code runs between taking a pointer into a typed array and using it.

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const std::vector<const char*>& names) : env_(info.Env()) {
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env_, "expected one options object");
    Napi::Object o = info[0].As<Napi::Object>();
    for (const char* n : names) values_.emplace_back(n, o.Get(n));
  }

  Napi::Value get(const char* name) const {
    for (const auto& [n, v] : values_)
      if (std::string(n) == name) return v;
    return env_.Undefined();
  }

  int integer(const char* name, int min, int max = 1 << 30) const {
    Napi::Value v = get(name);
    if (!v.IsNumber()) throw Napi::TypeError::New(env_, std::string(name) + " must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= min && d <= max) || std::floor(d) != d) {
      throw Napi::RangeError::New(env_, std::string(name) + " must be an integer between " + std::to_string(min) +
                                            " and " + std::to_string(max));
    }
    return static_cast<int>(d);
  }

  float number(const char* name) const {
    Napi::Value v = get(name);
    if (!v.IsNumber()) throw Napi::TypeError::New(env_, std::string(name) + " must be a number");
    return v.As<Napi::Number>().FloatValue();
  }

  bool boolean(const char* name) const {
    Napi::Value v = get(name);
    if (!v.IsBoolean()) throw Napi::TypeError::New(env_, std::string(name) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }

  bool absent(const char* name) const {
    Napi::Value v = get(name);
    return v.IsNull() || v.IsUndefined();
  }

  // A Float32Array of at least `needed` elements; null when optional and absent.
  Napi::Float32Array floats(const char* name, size_t needed, bool optional) const {
    Napi::Value v = get(name);
    if (optional && (v.IsNull() || v.IsUndefined())) return Napi::Float32Array();
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env_, std::string(name) + " must be a Float32Array");
    }
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    if (a.ElementLength() < needed) {
      throw Napi::RangeError::New(env_, std::string(name) + " has " + std::to_string(a.ElementLength()) +
                                            " elements, needs " + std::to_string(needed));
    }
    return a;
  }

  // A copy of the first `needed` elements (empty when optional and absent).
  SharedFloats copy(const char* name, size_t needed, bool optional) const {
    Napi::Float32Array a = floats(name, needed, optional);
    if (a.IsEmpty()) return nullptr;
    auto out = heldFloats(needed);
    std::copy(a.Data(), a.Data() + needed, out->data());
    return out;
  }

  // A copy of a Uint8Array step mask of exactly `needed` elements, or null
  // when absent: 1 = read the step, 0 = skip it.
  std::shared_ptr<std::vector<uint8_t>> mask(const char* name, size_t needed) const {
    Napi::Value v = get(name);
    if (v.IsNull() || v.IsUndefined()) return nullptr;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw Napi::TypeError::New(env_, std::string(name) + " must be a Uint8Array");
    }
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    if (a.ElementLength() != needed) {
      throw Napi::RangeError::New(env_, std::string(name) + " has " + std::to_string(a.ElementLength()) +
                                            " elements, needs " + std::to_string(needed));
    }
    auto out = std::make_shared<std::vector<uint8_t>>(needed);
    for (size_t i = 0; i < needed; i++) (*out)[i] = a[i] ? 1 : 0;
    return out;
  }

  Napi::Env env() const { return env_; }

 private:
  Napi::Env env_;
  std::vector<std::pair<const char*, Napi::Value>> values_;
};

// A Float32Array over native memory that stays alive while JavaScript holds
// the array (the shared_ptr is released by the finalizer).
Napi::Float32Array toJs(Napi::Env env, const SharedFloats& data) {
  if (!data || data->empty()) return Napi::Float32Array::New(env, 0);
  auto* keep = new SharedFloats(data);
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(
      env, data->data(), data->size() * sizeof(float),
      [](napi_env, void*, void* hint) { delete static_cast<SharedFloats*>(hint); }, keep, &buffer);
  if (status != napi_ok) {
    // Runtimes that forbid external buffers (V8 sandbox): copy instead.
    delete keep;
    Napi::Float32Array out = Napi::Float32Array::New(env, data->size());
    std::copy(data->data(), data->data() + data->size(), out.Data());
    return out;
  }
  return Napi::Float32Array::New(env, data->size(), Napi::ArrayBuffer(env, buffer), 0);
}

SharedFloats duplicate(const SharedFloats& data) {
  auto out = heldFloats(data->size());
  std::copy(data->data(), data->data() + data->size(), out->data());
  return out;
}

// {name: Float32Array | null, ...} from native results (null where absent).
Napi::Object resultsToJs(Napi::Env env, std::initializer_list<std::pair<const char*, SharedFloats>> items) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& [name, data] : items) out.Set(name, data ? Napi::Value(toJs(env, data)) : env.Null());
  return out;
}

// A weights handle's kernels packed for inference (packed_weights.h): by the
// first inference forward that needs them, on its worker thread, for every
// later one. Training forwards pack their own: their weights change after
// every batch.
class PackedOnce {
 public:
  template <class Pack>
  const PackedCellWeights* get(const Pack& pack) const {
    std::call_once(once_, [&] { packed_ = pack(); });
    return &packed_;
  }

 private:
  mutable std::once_flag once_;
  mutable PackedCellWeights packed_;
};

// ---- GRU weights handle -----------------------------------------------------

struct GruWeightsData {
  int inputSize = 0, units = 0;
  bool resetAfter = true;
  SharedFloats kernel, recurrentKernel, inputBias, recurrentBias;
  GruWeights view() const {
    GruWeights w;
    w.kernel = kernel->data();
    w.recurrentKernel = recurrentKernel->data();
    w.inputBias = inputBias ? inputBias->data() : nullptr;
    w.recurrentBias = recurrentBias ? recurrentBias->data() : nullptr;
    return w;
  }
  GruWeights inferenceView() const {
    GruWeights w = view();
    w.packed = packed.get([&] { return packGruWeights(resetAfter, inputSize, units, view(), BlockUse::Held); });
    return w;
  }
  PackedOnce packed;
};
using WeightsPtr = std::shared_ptr<GruWeightsData>;

template <class T>
Napi::External<std::shared_ptr<T>> wrap(Napi::Env env, std::shared_ptr<T> p) {
  return Napi::External<std::shared_ptr<T>>::New(env, new std::shared_ptr<T>(std::move(p)),
                                                  [](Napi::Env, std::shared_ptr<T>* q) { delete q; });
}

// Externals carry no type tag of their own; these tags make sure a weights
// handle is never read as a cache or the other way round.
const napi_type_tag kWeightsTag = {0x6761746564726e6eULL, 0x7765696768747331ULL};
const napi_type_tag kCacheTag = {0x6761746564726e6eULL, 0x6361636865733031ULL};
const napi_type_tag kLstmWeightsTag = {0x6761746564726e6eULL, 0x6c73746d77743031ULL};
const napi_type_tag kLstmCacheTag = {0x6761746564726e6eULL, 0x6c73746d63613031ULL};
const napi_type_tag kRnnWeightsTag = {0x6761746564726e6eULL, 0x726e6e7774733031ULL};
const napi_type_tag kRnnCacheTag = {0x6761746564726e6eULL, 0x726e6e6361633031ULL};

template <class T>
std::shared_ptr<T> unwrap(const Napi::Value& v, const napi_type_tag& tag, const char* what) {
  Napi::Env env = v.Env();
  bool ok = false;
  if (v.IsExternal()) napi_check_object_type_tag(env, v, &tag, &ok);
  if (!ok) throw Napi::TypeError::New(env, std::string(what) + " must be a handle made by this addon");
  return *v.As<Napi::External<std::shared_ptr<T>>>().Data();
}

// A training cache for backward; one given back by releaseCache is refused.
template <class T>
std::shared_ptr<T> unwrapCache(const Napi::Value& v, const napi_type_tag& tag) {
  std::shared_ptr<T> c = unwrap<T>(v, tag, "cache");
  if (c->released) throw Napi::Error::New(v.Env(), "cache was released (releaseCache): run a new training forward first");
  return c;
}

// {output, cache?} of a forward: when training, the cache keeps its own
// output for backward and JavaScript gets a copy, so writing to it cannot
// change a later gradient; the cache goes out as a tagged handle.
template <class Cache>
Napi::Object forwardToJs(Napi::Env env, const SharedFloats& output, bool training, const std::shared_ptr<Cache>& cache,
                         const napi_type_tag& tag) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("output", toJs(env, training ? duplicate(output) : output));
  if (training) {
    Napi::External<std::shared_ptr<Cache>> handle = wrap(env, cache);
    napi_type_tag_object(env, handle, &tag);
    out.Set("cache", handle);
  }
  return out;
}

Napi::Value CreateGruWeights(const Napi::CallbackInfo& info) {
  Args a(info, {"inputSize", "units", "resetAfter", "kernel", "recurrentKernel", "inputBias", "recurrentBias"});
  auto w = std::make_shared<GruWeightsData>();
  w->inputSize = a.integer("inputSize", 1);
  w->units = a.integer("units", 1, 1 << 20);
  w->resetAfter = a.boolean("resetAfter");
  const size_t I = w->inputSize, H = w->units;
  if (I * 3 * H > (size_t(1) << 31) || H * 3 * H > (size_t(1) << 31)) {
    throw Napi::RangeError::New(info.Env(), "weights larger than 2^31 elements");
  }
  w->kernel = a.copy("kernel", I * 3 * H, false);
  w->recurrentKernel = a.copy("recurrentKernel", H * 3 * H, false);
  w->inputBias = a.copy("inputBias", 3 * H, true);
  SharedFloats recurrentBias = a.copy("recurrentBias", 3 * H, true);  // checked even when unused
  w->recurrentBias = w->resetAfter ? recurrentBias : nullptr;
  Napi::External<WeightsPtr> handle = wrap(info.Env(), std::move(w));
  napi_type_tag_object(info.Env(), handle, &kWeightsTag);
  return handle;
}

// ---- GRU forward / backward ---------------------------------------------------

// What backward needs, owned natively: the inputs of the forward and the
// activations it kept. JavaScript only ever holds an opaque handle to it.
using SharedMask = std::shared_ptr<std::vector<uint8_t>>;

const uint8_t* maskData(const SharedMask& m) { return m ? m->data() : nullptr; }
const float* floatData(const SharedFloats& f) { return f ? f->data() : nullptr; }

struct GruCacheData {
  GruShape shape;
  GruOptions options;
  WeightsPtr weights;
  SharedFloats x, h0, output, gates, hn, rscale;
  SharedMask mask;
  bool released = false;  // releaseCache gave its buffers back
};
using CachePtr = std::shared_ptr<GruCacheData>;

GruOptions readOptions(const Args& a, const GruWeightsData& w) {
  GruOptions o;
  o.resetAfter = w.resetAfter;
  o.activation = static_cast<Activation>(a.integer("activation", 0, 3));
  o.recurrentActivation = static_cast<GateActivation>(a.integer("recurrentActivation", 0, 2));
  return o;
}

GruShape readShape(const Args& a, const GruWeightsData& w) {
  GruShape s;
  s.batch = a.integer("batch", 0);
  s.steps = a.integer("steps", 0);
  s.inputSize = w.inputSize;
  s.units = w.units;
  const double B = s.batch, T = s.steps, widest = std::max<double>(s.inputSize, 3.0 * s.units);
  if (B * T * widest >= static_cast<double>(size_t(1) << 31)) {
    throw Napi::RangeError::New(a.env(), "batch * steps * features exceeds 2^31 elements");
  }
  return s;
}

// lastOnly (optional boolean): inference that needs only the last state
// (returnSequences: false). The kernel still writes every state (step t
// reads step t-1), but into scratch that goes back to the block cache when
// the call ends; JavaScript gets the (B, H) last states.
bool readLastOnly(const Args& a, bool training) {
  if (a.absent("lastOnly")) return false;
  bool lastOnly = a.boolean("lastOnly");
  if (lastOnly && training) throw Napi::TypeError::New(a.env(), "lastOnly is for inference: training must be false");
  return lastOnly;
}

// Where a forward writes its (B, T, H) states.
SharedFloats sequenceBuffer(size_t n, bool lastOnly) { return lastOnly ? std::make_shared<Floats>(n) : heldFloats(n); }

// output[b, T-1] for each b (h0 when there are no steps): the states after
// the last step, (B, H).
SharedFloats lastStates(const Floats& output, const Floats& h0, size_t B, size_t T, size_t H) {
  SharedFloats last = heldFloats(B * H);
  for (size_t b = 0; b < B; b++) {
    const float* from = T == 0 ? h0.data() + b * H : output.data() + (b * T + T - 1) * H;
    std::copy(from, from + H, last->data() + b * H);
  }
  return last;
}

// Resolves a promise with whatever OnOK builds.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual Napi::Value result() = 0;
  void OnOK() override { deferred_.Resolve(result()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
};

// gruForward({weights, batch, steps, activation, recurrentActivation, x, h0, mask?, recurrentScale?, training, lastOnly?})
//   -> Promise<{output: Float32Array (B,T,H), cache: handle | undefined}>
class GruForwardWorker : public PromiseWorker {
 public:
  GruForwardWorker(Napi::Env env, const Args& a) : PromiseWorker(env) {
    cache_ = std::make_shared<GruCacheData>();
    cache_->weights = unwrap<GruWeightsData>(a.get("weights"), kWeightsTag, "weights");
    cache_->shape = readShape(a, *cache_->weights);
    cache_->options = readOptions(a, *cache_->weights);
    training_ = a.boolean("training");
    lastOnly_ = readLastOnly(a, training_);
    const size_t B = cache_->shape.batch, T = cache_->shape.steps, I = cache_->shape.inputSize, H = cache_->shape.units;
    cache_->x = a.copy("x", B * T * I, false);
    cache_->h0 = a.copy("h0", B * H, false);
    cache_->mask = a.mask("mask", B * T);
    cache_->rscale = a.copy("recurrentScale", B * H, true);
  }

  void Execute() override {
    GruCacheData& c = *cache_;
    const size_t B = c.shape.batch, T = c.shape.steps, H = c.shape.units;
    c.output = sequenceBuffer(B * T * H, lastOnly_);
    GruCache activations;
    if (training_) {
      c.gates = heldFloats(B * T * 3 * H);
      if (c.options.resetAfter) c.hn = heldFloats(B * T * H);
      activations.gates = c.gates->data();
      activations.hnCache = c.hn ? c.hn->data() : nullptr;
    }
    const GruWeights w = training_ ? c.weights->view() : c.weights->inferenceView();
    gruForward(c.shape, c.options, w, c.x->data(), c.h0->data(), maskData(c.mask), floatData(c.rscale),
               c.output->data(), training_ ? &activations : nullptr);
    if (lastOnly_) c.output = lastStates(*c.output, *c.h0, B, T, H);
  }

 protected:
  Napi::Value result() override {
    Napi::Object out = forwardToJs(Env(), cache_->output, training_, cache_, kCacheTag);
    cache_.reset();
    return out;
  }

 private:
  CachePtr cache_;
  bool training_ = false;
  bool lastOnly_ = false;
};

// gruBackward({cache, dOutput, dLast}) -> Promise<{dx, dh0, dKernel,
//   dRecurrentKernel, dInputBias?, dRecurrentBias?}>
class GruBackwardWorker : public PromiseWorker {
 public:
  GruBackwardWorker(Napi::Env env, const Args& a) : PromiseWorker(env) {
    cache_ = unwrapCache<GruCacheData>(a.get("cache"), kCacheTag);
    const size_t B = cache_->shape.batch, T = cache_->shape.steps, H = cache_->shape.units;
    dOutput_ = a.copy("dOutput", B * T * H, true);
    dLast_ = a.copy("dLast", B * H, true);
  }

  void Execute() override {
    const GruCacheData& c = *cache_;
    const size_t B = c.shape.batch, T = c.shape.steps, I = c.shape.inputSize, H = c.shape.units;
    dx_ = heldFloats(B * T * I);
    dh0_ = heldFloats(B * H);
    dKernel_ = heldFloats(I * 3 * H);
    dRecurrentKernel_ = heldFloats(H * 3 * H);
    if (c.weights->inputBias) dInputBias_ = heldFloats(3 * H);
    if (c.weights->recurrentBias) dRecurrentBias_ = heldFloats(3 * H);
    GruCache activations;
    activations.gates = c.gates->data();
    activations.hnCache = c.hn ? c.hn->data() : nullptr;
    GruGrads g;
    g.dx = dx_->data();
    g.dh0 = dh0_->data();
    g.dKernel = dKernel_->data();
    g.dRecurrentKernel = dRecurrentKernel_->data();
    g.dInputBias = dInputBias_ ? dInputBias_->data() : nullptr;
    g.dRecurrentBias = dRecurrentBias_ ? dRecurrentBias_->data() : nullptr;
    gruBackward(c.shape, c.options, c.weights->view(), c.x->data(), c.h0->data(), maskData(c.mask),
                floatData(c.rscale), c.output->data(), activations,
                dOutput_ ? dOutput_->data() : nullptr, dLast_ ? dLast_->data() : nullptr, g);
  }

 protected:
  Napi::Value result() override {
    Napi::Env env = Env();
    return resultsToJs(env, {{"dx", dx_}, {"dh0", dh0_}, {"dKernel", dKernel_}, {"dRecurrentKernel", dRecurrentKernel_},
                             {"dInputBias", dInputBias_}, {"dRecurrentBias", dRecurrentBias_}});
  }

 private:
  CachePtr cache_;
  SharedFloats dOutput_, dLast_;
  SharedFloats dx_, dh0_, dKernel_, dRecurrentKernel_, dInputBias_, dRecurrentBias_;
};

Napi::Value GruForward(const Napi::CallbackInfo& info) {
  Args a(info, {"weights", "batch", "steps", "activation", "recurrentActivation", "x", "h0", "mask", "recurrentScale", "training", "lastOnly"});
  auto* worker = new GruForwardWorker(info.Env(), a);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

Napi::Value GruBackward(const Napi::CallbackInfo& info) {
  Args a(info, {"cache", "dOutput", "dLast"});
  auto* worker = new GruBackwardWorker(info.Env(), a);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

// ---- LSTM ---------------------------------------------------------------------

struct LstmWeightsData {
  int inputSize = 0, units = 0;
  SharedFloats kernel, recurrentKernel, bias;
  LstmWeights view() const {
    LstmWeights w;
    w.kernel = kernel->data();
    w.recurrentKernel = recurrentKernel->data();
    w.bias = bias ? bias->data() : nullptr;
    return w;
  }
  LstmWeights inferenceView() const {
    LstmWeights w = view();
    w.packed = packed.get([&] { return packLstmWeights(inputSize, units, view(), BlockUse::Held); });
    return w;
  }
  PackedOnce packed;
};
using LstmWeightsPtr = std::shared_ptr<LstmWeightsData>;

Napi::Value CreateLstmWeights(const Napi::CallbackInfo& info) {
  Args a(info, {"inputSize", "units", "kernel", "recurrentKernel", "bias"});
  auto w = std::make_shared<LstmWeightsData>();
  w->inputSize = a.integer("inputSize", 1);
  w->units = a.integer("units", 1, 1 << 20);
  const size_t I = w->inputSize, H = w->units;
  if (I * 4 * H > (size_t(1) << 31) || H * 4 * H > (size_t(1) << 31)) {
    throw Napi::RangeError::New(info.Env(), "weights larger than 2^31 elements");
  }
  w->kernel = a.copy("kernel", I * 4 * H, false);
  w->recurrentKernel = a.copy("recurrentKernel", H * 4 * H, false);
  w->bias = a.copy("bias", 4 * H, true);
  Napi::External<LstmWeightsPtr> handle = wrap(info.Env(), std::move(w));
  napi_type_tag_object(info.Env(), handle, &kLstmWeightsTag);
  return handle;
}

struct LstmCacheData {
  LstmShape shape;
  LstmOptions options;
  LstmWeightsPtr weights;
  SharedFloats x, h0, c0, output, gates, cells, rscale;
  SharedMask mask;
  bool released = false;  // releaseCache gave its buffers back
};
using LstmCachePtr = std::shared_ptr<LstmCacheData>;

// lstmForward({weights, batch, steps, activation, recurrentActivation, x, h0, c0, mask?, recurrentScale?, training, lastOnly?})
//   -> Promise<{output (B,T,H), c (B,H), cache?}>
class LstmForwardWorker : public PromiseWorker {
 public:
  LstmForwardWorker(Napi::Env env, const Args& a) : PromiseWorker(env) {
    cache_ = std::make_shared<LstmCacheData>();
    cache_->weights = unwrap<LstmWeightsData>(a.get("weights"), kLstmWeightsTag, "weights");
    LstmShape& s = cache_->shape;
    s.batch = a.integer("batch", 0);
    s.steps = a.integer("steps", 0);
    s.inputSize = cache_->weights->inputSize;
    s.units = cache_->weights->units;
    const double widest = std::max<double>(s.inputSize, 4.0 * s.units);
    if (static_cast<double>(s.batch) * s.steps * widest >= static_cast<double>(size_t(1) << 31)) {
      throw Napi::RangeError::New(env, "batch * steps * features exceeds 2^31 elements");
    }
    cache_->options.activation = static_cast<Activation>(a.integer("activation", 0, 3));
    cache_->options.recurrentActivation = static_cast<GateActivation>(a.integer("recurrentActivation", 0, 2));
    training_ = a.boolean("training");
    lastOnly_ = readLastOnly(a, training_);
    const size_t B = s.batch, T = s.steps, I = s.inputSize, H = s.units;
    cache_->x = a.copy("x", B * T * I, false);
    cache_->h0 = a.copy("h0", B * H, false);
    cache_->c0 = a.copy("c0", B * H, false);
    cache_->mask = a.mask("mask", B * T);
    cache_->rscale = a.copy("recurrentScale", B * H, true);
  }

  void Execute() override {
    LstmCacheData& c = *cache_;
    const size_t B = c.shape.batch, T = c.shape.steps, H = c.shape.units;
    c.output = sequenceBuffer(B * T * H, lastOnly_);
    cLast_ = heldFloats(B * H);
    LstmCache activations;
    if (training_) {
      c.gates = heldFloats(B * T * 4 * H);
      c.cells = heldFloats(B * T * H);
      activations.gates = c.gates->data();
      activations.cells = c.cells->data();
    }
    const LstmWeights w = training_ ? c.weights->view() : c.weights->inferenceView();
    lstmForward(c.shape, c.options, w, c.x->data(), c.h0->data(), c.c0->data(), maskData(c.mask),
                floatData(c.rscale), c.output->data(), cLast_->data(), training_ ? &activations : nullptr);
    if (lastOnly_) c.output = lastStates(*c.output, *c.h0, B, T, H);
  }

 protected:
  Napi::Value result() override {
    Napi::Object out = forwardToJs(Env(), cache_->output, training_, cache_, kLstmCacheTag);
    out.Set("c", toJs(Env(), cLast_));
    cache_.reset();
    return out;
  }

 private:
  LstmCachePtr cache_;
  SharedFloats cLast_;
  bool training_ = false;
  bool lastOnly_ = false;
};

// lstmBackward({cache, dOutput, dh, dc}) -> Promise<{dx, dh0, dc0, dKernel,
//   dRecurrentKernel, dBias?}>
class LstmBackwardWorker : public PromiseWorker {
 public:
  LstmBackwardWorker(Napi::Env env, const Args& a) : PromiseWorker(env) {
    cache_ = unwrapCache<LstmCacheData>(a.get("cache"), kLstmCacheTag);
    const size_t B = cache_->shape.batch, T = cache_->shape.steps, H = cache_->shape.units;
    dOutput_ = a.copy("dOutput", B * T * H, true);
    dh_ = a.copy("dh", B * H, true);
    dc_ = a.copy("dc", B * H, true);
  }

  void Execute() override {
    const LstmCacheData& c = *cache_;
    const size_t B = c.shape.batch, T = c.shape.steps, I = c.shape.inputSize, H = c.shape.units;
    dx_ = heldFloats(B * T * I);
    dh0_ = heldFloats(B * H);
    dc0_ = heldFloats(B * H);
    dKernel_ = heldFloats(I * 4 * H);
    dRecurrentKernel_ = heldFloats(H * 4 * H);
    if (c.weights->bias) dBias_ = heldFloats(4 * H);
    LstmCache activations;
    activations.gates = c.gates ? c.gates->data() : nullptr;
    activations.cells = c.cells ? c.cells->data() : nullptr;
    LstmGrads g;
    g.dx = dx_->data();
    g.dh0 = dh0_->data();
    g.dc0 = dc0_->data();
    g.dKernel = dKernel_->data();
    g.dRecurrentKernel = dRecurrentKernel_->data();
    g.dBias = dBias_ ? dBias_->data() : nullptr;
    lstmBackward(c.shape, c.options, c.weights->view(), c.x->data(), c.h0->data(), c.c0->data(), maskData(c.mask),
                 floatData(c.rscale), c.output->data(), activations, dOutput_ ? dOutput_->data() : nullptr, dh_ ? dh_->data() : nullptr,
                 dc_ ? dc_->data() : nullptr, g);
  }

 protected:
  Napi::Value result() override {
    Napi::Env env = Env();
    return resultsToJs(env, {{"dx", dx_}, {"dh0", dh0_}, {"dc0", dc0_}, {"dKernel", dKernel_},
                             {"dRecurrentKernel", dRecurrentKernel_}, {"dBias", dBias_}});
  }

 private:
  LstmCachePtr cache_;
  SharedFloats dOutput_, dh_, dc_;
  SharedFloats dx_, dh0_, dc0_, dKernel_, dRecurrentKernel_, dBias_;
};

Napi::Value LstmForward(const Napi::CallbackInfo& info) {
  Args a(info, {"weights", "batch", "steps", "activation", "recurrentActivation", "x", "h0", "c0", "mask", "recurrentScale", "training", "lastOnly"});
  auto* worker = new LstmForwardWorker(info.Env(), a);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

Napi::Value LstmBackward(const Napi::CallbackInfo& info) {
  Args a(info, {"cache", "dOutput", "dh", "dc"});
  auto* worker = new LstmBackwardWorker(info.Env(), a);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

// ---- SimpleRNN ----------------------------------------------------------------

struct RnnWeightsData {
  int inputSize = 0, units = 0;
  SharedFloats kernel, recurrentKernel, bias;
  RnnWeights view() const {
    RnnWeights w;
    w.kernel = kernel->data();
    w.recurrentKernel = recurrentKernel->data();
    w.bias = bias ? bias->data() : nullptr;
    return w;
  }
  RnnWeights inferenceView() const {
    RnnWeights w = view();
    w.packed = packed.get([&] { return packRnnWeights(inputSize, units, view(), BlockUse::Held); });
    return w;
  }
  PackedOnce packed;
};
using RnnWeightsPtr = std::shared_ptr<RnnWeightsData>;

Napi::Value CreateRnnWeights(const Napi::CallbackInfo& info) {
  Args a(info, {"inputSize", "units", "kernel", "recurrentKernel", "bias"});
  auto w = std::make_shared<RnnWeightsData>();
  w->inputSize = a.integer("inputSize", 1);
  w->units = a.integer("units", 1, 1 << 20);
  const size_t I = w->inputSize, H = w->units;
  if (I * H > (size_t(1) << 31) || H * H > (size_t(1) << 31)) {
    throw Napi::RangeError::New(info.Env(), "weights larger than 2^31 elements");
  }
  w->kernel = a.copy("kernel", I * H, false);
  w->recurrentKernel = a.copy("recurrentKernel", H * H, false);
  w->bias = a.copy("bias", H, true);
  Napi::External<RnnWeightsPtr> handle = wrap(info.Env(), std::move(w));
  napi_type_tag_object(info.Env(), handle, &kRnnWeightsTag);
  return handle;
}

struct RnnCacheData {
  RnnShape shape;
  Activation activation = Activation::Tanh;
  RnnWeightsPtr weights;
  SharedFloats x, h0, output, rscale;
  SharedMask mask;
  bool released = false;  // releaseCache gave its buffers back
};
using RnnCachePtr = std::shared_ptr<RnnCacheData>;

// simpleRnnForward({weights, batch, steps, activation, x, h0, mask?, recurrentScale?, training, lastOnly?})
//   -> Promise<{output (B,T,H), cache?}>
class RnnForwardWorker : public PromiseWorker {
 public:
  RnnForwardWorker(Napi::Env env, const Args& a) : PromiseWorker(env) {
    cache_ = std::make_shared<RnnCacheData>();
    cache_->weights = unwrap<RnnWeightsData>(a.get("weights"), kRnnWeightsTag, "weights");
    RnnShape& s = cache_->shape;
    s.batch = a.integer("batch", 0);
    s.steps = a.integer("steps", 0);
    s.inputSize = cache_->weights->inputSize;
    s.units = cache_->weights->units;
    const double widest = std::max<double>(s.inputSize, s.units);
    if (static_cast<double>(s.batch) * s.steps * widest >= static_cast<double>(size_t(1) << 31)) {
      throw Napi::RangeError::New(env, "batch * steps * features exceeds 2^31 elements");
    }
    cache_->activation = static_cast<Activation>(a.integer("activation", 0, 3));
    training_ = a.boolean("training");
    lastOnly_ = readLastOnly(a, training_);
    const size_t B = s.batch, T = s.steps, I = s.inputSize, H = s.units;
    cache_->x = a.copy("x", B * T * I, false);
    cache_->h0 = a.copy("h0", B * H, false);
    cache_->mask = a.mask("mask", B * T);
    cache_->rscale = a.copy("recurrentScale", B * H, true);
  }

  void Execute() override {
    RnnCacheData& c = *cache_;
    const size_t B = c.shape.batch, T = c.shape.steps, H = c.shape.units;
    c.output = sequenceBuffer(B * T * H, lastOnly_);
    const RnnWeights w = training_ ? c.weights->view() : c.weights->inferenceView();
    simpleRnnForward(c.shape, c.activation, w, c.x->data(), c.h0->data(), maskData(c.mask), floatData(c.rscale),
                     c.output->data());
    if (lastOnly_) c.output = lastStates(*c.output, *c.h0, B, T, H);
  }

 protected:
  Napi::Value result() override {
    Napi::Object out = forwardToJs(Env(), cache_->output, training_, cache_, kRnnCacheTag);
    cache_.reset();
    return out;
  }

 private:
  RnnCachePtr cache_;
  bool training_ = false;
  bool lastOnly_ = false;
};

// simpleRnnBackward({cache, dOutput, dLast}) -> Promise<{dx, dh0, dKernel, dRecurrentKernel, dBias?}>
class RnnBackwardWorker : public PromiseWorker {
 public:
  RnnBackwardWorker(Napi::Env env, const Args& a) : PromiseWorker(env) {
    cache_ = unwrapCache<RnnCacheData>(a.get("cache"), kRnnCacheTag);
    const size_t B = cache_->shape.batch, T = cache_->shape.steps, H = cache_->shape.units;
    dOutput_ = a.copy("dOutput", B * T * H, true);
    dLast_ = a.copy("dLast", B * H, true);
  }

  void Execute() override {
    const RnnCacheData& c = *cache_;
    const size_t B = c.shape.batch, T = c.shape.steps, I = c.shape.inputSize, H = c.shape.units;
    dx_ = heldFloats(B * T * I);
    dh0_ = heldFloats(B * H);
    dKernel_ = heldFloats(I * H);
    dRecurrentKernel_ = heldFloats(H * H);
    if (c.weights->bias) dBias_ = heldFloats(H);
    RnnGrads g;
    g.dx = dx_->data();
    g.dh0 = dh0_->data();
    g.dKernel = dKernel_->data();
    g.dRecurrentKernel = dRecurrentKernel_->data();
    g.dBias = dBias_ ? dBias_->data() : nullptr;
    simpleRnnBackward(c.shape, c.activation, c.weights->view(), c.x->data(), c.h0->data(), maskData(c.mask),
                      floatData(c.rscale), c.output->data(), dOutput_ ? dOutput_->data() : nullptr,
                      dLast_ ? dLast_->data() : nullptr, g);
  }

 protected:
  Napi::Value result() override {
    Napi::Env env = Env();
    return resultsToJs(env, {{"dx", dx_}, {"dh0", dh0_}, {"dKernel", dKernel_}, {"dRecurrentKernel", dRecurrentKernel_},
                             {"dBias", dBias_}});
  }

 private:
  RnnCachePtr cache_;
  SharedFloats dOutput_, dLast_;
  SharedFloats dx_, dh0_, dKernel_, dRecurrentKernel_, dBias_;
};

Napi::Value SimpleRnnForward(const Napi::CallbackInfo& info) {
  Args a(info, {"weights", "batch", "steps", "activation", "x", "h0", "mask", "recurrentScale", "training", "lastOnly"});
  auto* worker = new RnnForwardWorker(info.Env(), a);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

Napi::Value SimpleRnnBackward(const Napi::CallbackInfo& info) {
  Args a(info, {"cache", "dOutput", "dLast"});
  auto* worker = new RnnBackwardWorker(info.Env(), a);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

// sgemm({transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc}),
// synchronous (nothing can change the buffers while it runs): used by tests
// of the wrapper, by the benchmark's peak and by the initializers.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Args a(info, {"transA", "transB", "m", "n", "k", "alpha", "a", "lda", "b", "ldb", "beta", "c", "ldc"});
  bool ta = a.boolean("transA"), tb = a.boolean("transB");
  int m = a.integer("m", 0), n = a.integer("n", 0), k = a.integer("k", 0);
  int lda = a.integer("lda", 1), ldb = a.integer("ldb", 1), ldc = a.integer("ldc", 1);
  float alpha = a.number("alpha"), beta = a.number("beta");
  // Rows and columns of each operand as stored (row-major).
  size_t aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
  if (static_cast<size_t>(lda) < aCols || static_cast<size_t>(ldb) < bCols || ldc < n) {
    throw Napi::RangeError::New(info.Env(), "a leading dimension is smaller than its matrix's row length");
  }
  auto need = [](size_t rows, size_t cols, size_t ld) { return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols; };
  Napi::Float32Array A = a.floats("a", need(aRows, aCols, lda), false);
  Napi::Float32Array Bm = a.floats("b", need(bRows, bCols, ldb), false);
  Napi::Float32Array C = a.floats("c", need(m, n, ldc), false);
  parallelSgemm(ta ? Trans::Yes : Trans::No, tb ? Trans::Yes : Trans::No, m, n, k, alpha, A.Data(), lda,
                Bm.Data(), ldb, beta, C.Data(), ldc);
  return info.Env().Undefined();
}

// packedGemm({transB, m, n, k, a, lda, b, ldb, beta, c, ldc}), synchronous:
// C = A @ op(B) + beta * C through the packed per-timestep kernel
// (packed_gemm.h) with B packed for this call. beta must be 0 or 1. For
// the tests of that kernel at every tile remainder; the recurrent kernels
// call it directly.
Napi::Value PackedGemm(const Napi::CallbackInfo& info) {
  Args a(info, {"transB", "m", "n", "k", "a", "lda", "b", "ldb", "beta", "c", "ldc"});
  bool tb = a.boolean("transB");
  int m = a.integer("m", 0), n = a.integer("n", 0), k = a.integer("k", 0);
  int lda = a.integer("lda", 1), ldb = a.integer("ldb", 1), ldc = a.integer("ldc", 1);
  float beta = a.number("beta");
  if (beta != 0.0f && beta != 1.0f) throw Napi::RangeError::New(info.Env(), "beta must be 0 or 1");
  size_t bRows = tb ? n : k, bCols = tb ? k : n;
  if (lda < k || static_cast<size_t>(ldb) < bCols || ldc < n) {
    throw Napi::RangeError::New(info.Env(), "a leading dimension is smaller than its matrix's row length");
  }
  auto need = [](size_t rows, size_t cols, size_t ld) { return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols; };
  Napi::Float32Array A = a.floats("a", need(m, k, lda), false);
  Napi::Float32Array Bm = a.floats("b", need(bRows, bCols, ldb), false);
  Napi::Float32Array C = a.floats("c", need(m, n, ldc), false);
  const PackedMatrix packed(tb ? Trans::Yes : Trans::No, k, n, Bm.Data(), ldb);
  packedGemm(m, A.Data(), lda, packed, beta, C.Data(), ldc);
  return info.Env().Undefined();
}

// releaseCache(cache) -> boolean: gives a training cache's buffers (the
// gate activations of every step: the largest allocation of a training step)
// back to the block cache now rather than when the garbage collector gets to
// the handle, so the next training forward reuses them instead of faulting
// in fresh pages. Refused (false) while a backward is using the cache: a
// running worker holds the second reference. A released cache cannot be
// used for backward again.
template <class T>
bool releaseCacheData(const Napi::Value& v, const napi_type_tag& tag) {
  std::shared_ptr<T> c = unwrap<T>(v, tag, "cache");
  // This handle's own reference and ours; a third is a running worker's.
  if (c.use_count() > 2) return false;
  T empty;
  empty.shape = c->shape;
  empty.released = true;
  *c = std::move(empty);
  return true;
}

Napi::Value ReleaseCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value v = info.Length() >= 1 ? info[0] : env.Undefined();
  auto tagged = [&](const napi_type_tag& tag) {
    bool ok = false;
    if (v.IsExternal()) napi_check_object_type_tag(env, v, &tag, &ok);
    return ok;
  };
  bool done;
  if (tagged(kCacheTag)) done = releaseCacheData<GruCacheData>(v, kCacheTag);
  else if (tagged(kLstmCacheTag)) done = releaseCacheData<LstmCacheData>(v, kLstmCacheTag);
  else if (tagged(kRnnCacheTag)) done = releaseCacheData<RnnCacheData>(v, kRnnCacheTag);
  else throw Napi::TypeError::New(env, "cache must be a handle made by this addon");
  return Napi::Boolean::New(env, done);
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  double n = info.Length() >= 1 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(n >= 1 && n <= 1024) || std::floor(n) != n) {
    throw Napi::RangeError::New(info.Env(), "n must be an integer between 1 and 1024");
  // setNumThreads may throw std::system_error when threads cannot be made;
  // NODE_ADDON_API_CPP_EXCEPTIONS_ALL turns it into a JS error.
  }
  setNumThreads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), getNumThreads()); }

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blasConfig", blasConfig());
  o.Set("blasCore", blasCoreName());
  // The pool takes OpenBLAS's threads when it starts and leaves it one
  // (threadpool.h); start it first so that this reads the same every time.
  o.Set("threads", getNumThreads());
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
  o.Set("recurrentKernelIsa", kernelIsaName(kernelIsa()));
  o.Set("bufferCacheBytes", static_cast<double>(bufferCacheBytes()));
  return o;
}

// GATEDRNN_BUFFER_CACHE_MB: how much freed native memory is kept for reuse
// (native/kernels/buffer.h); 0 turns the cache off.
void readBufferCacheSetting() {
  const char* mb = std::getenv("GATEDRNN_BUFFER_CACHE_MB");
  if (!mb || !*mb) return;
  char* end = nullptr;
  double v = std::strtod(mb, &end);
  if (end && *end == '\0' && v >= 0 && v < 1e7) setBufferCacheLimit(static_cast<size_t>(v * 1024 * 1024));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  readBufferCacheSetting();
  exports.Set("createGruWeights", Napi::Function::New(env, CreateGruWeights));
  exports.Set("gruForward", Napi::Function::New(env, GruForward));
  exports.Set("gruBackward", Napi::Function::New(env, GruBackward));
  exports.Set("createLstmWeights", Napi::Function::New(env, CreateLstmWeights));
  exports.Set("lstmForward", Napi::Function::New(env, LstmForward));
  exports.Set("lstmBackward", Napi::Function::New(env, LstmBackward));
  exports.Set("createRnnWeights", Napi::Function::New(env, CreateRnnWeights));
  exports.Set("simpleRnnForward", Napi::Function::New(env, SimpleRnnForward));
  exports.Set("simpleRnnBackward", Napi::Function::New(env, SimpleRnnBackward));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("packedGemm", Napi::Function::New(env, PackedGemm));
  exports.Set("releaseCache", Napi::Function::New(env, ReleaseCache));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(gatedrnn, Init)
