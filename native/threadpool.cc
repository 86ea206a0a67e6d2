#include "threadpool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "blas.h"
#include "common.h"

namespace clipts {
namespace {

// Workers wait on a generation counter; each generation is one ParallelFor call.
class Pool {
 public:
  explicit Pool(int threads) { Resize(threads); }
  ~Pool() { Stop(); }

  int Size() const { return static_cast<int>(workers_.size()) + 1; }

  void Resize(int threads) {
    Stop();
    size_t current;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = false;
      current = generation_;
    }
    // A new worker must start from the current generation: starting from 0 it would take the
    // last (finished) round for a new one, run it and decrement pending_ a second time, so a later
    // Run could return while a worker was still inside its task, or never see pending_ reach 0.
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, current] { Loop(current); });
  }

  void Run(size_t chunks, const std::function<void(size_t)>& task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      task_ = &task;
      chunks_ = chunks;
      next_.store(0);
      pending_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    cv_.notify_all();
    Work();
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    task_ = nullptr;
  }

 private:
  void Work() {
    for (;;) {
      size_t c = next_.fetch_add(1);
      if (c >= chunks_) break;
      (*task_)(c);
    }
  }

  void Loop(size_t seen) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      Work();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--pending_ == 0) done_cv_.notify_one();
      }
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(size_t)>* task_ = nullptr;
  size_t chunks_ = 0;
  std::atomic<size_t> next_{0};
  int pending_ = 0;
  size_t generation_ = 0;
  bool stop_ = false;
};

int DefaultThreads() {
  const char* env = std::getenv("CLIP_TS_THREADS");
  if (env != nullptr) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

int g_threads = 0;
Pool* g_pool = nullptr;
std::mutex g_pool_mu;  // one ParallelFor at a time per process (Node worker threads share the pool)

Pool& GetPool() {
  if (g_pool == nullptr) {
    if (g_threads == 0) g_threads = DefaultThreads();
    g_pool = new Pool(g_threads);
    BlasSetThreads(g_threads);
  }
  return *g_pool;
}

}  // namespace

int GetNumThreads() {
  GetPool();
  return g_threads;
}

void SetNumThreads(int n) {
  if (n < 1) n = 1;
  std::lock_guard<std::mutex> lock(g_pool_mu);
  g_threads = n;
  if (g_pool != nullptr) g_pool->Resize(n);
  BlasSetThreads(n);
}

void ParallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  if (grain == 0) grain = 1;
  Pool& pool = GetPool();
  int threads = pool.Size();
  if (threads <= 1 || n < 2 * grain) {
    fn(0, n);
    return;
  }
  // A few chunks per thread balance uneven work without much scheduling cost.
  size_t max_chunks = static_cast<size_t>(threads) * 4;
  size_t chunks = (n + grain - 1) / grain;
  if (chunks > max_chunks) chunks = max_chunks;
  size_t step = (n + chunks - 1) / chunks;
  chunks = (n + step - 1) / step;
  std::function<void(size_t)> task = [&](size_t c) {
    size_t b = c * step;
    size_t e = b + step < n ? b + step : n;
    fn(b, e);
  };
  std::lock_guard<std::mutex> lock(g_pool_mu);
  pool.Run(chunks, task);
}

BlasSerialScope::BlasSerialScope() : previous_(GetNumThreads()) { BlasSetThreads(1); }
BlasSerialScope::~BlasSerialScope() { BlasSetThreads(previous_); }

namespace {
Napi::Value JsSetThreads(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    ThrowType(info.Env(), "setThreads(n) needs a positive integer");
    return info.Env().Undefined();
  }
  SetNumThreads(static_cast<int>(GetInt(info, 0)));
  return info.Env().Undefined();
}
Napi::Value JsGetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), GetNumThreads());
}
}  // namespace

void RegisterThreadpool(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreads", Napi::Function::New(env, JsSetThreads));
  exports.Set("getThreads", Napi::Function::New(env, JsGetThreads));
}

}  // namespace clipts
