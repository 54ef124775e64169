#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lienthong {

// A fixed set of threads that share out the indexes of one job at a time with the caller, so that
// work done in parallel many times a second does not start and stop threads each time.
class WorkerPool {
 public:
  // `threads` helpers besides the calling thread, named `name`.
  WorkerPool(std::size_t threads, std::string name);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Calls f(i) for every i < count, on the helpers and the calling thread; returns when all have
  // returned. One job at a time: concurrent callers take turns.
  void for_each(std::size_t count, const std::function<void(std::size_t)>& f);

 private:
  void work();
  void run_job();

  std::mutex caller_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t count_ = 0;
  std::atomic<std::size_t> next_{0};
  std::size_t busy_ = 0;          // helpers inside the current job
  std::uint64_t generation_ = 0;  // bumped for each job, so a helper joins each job once
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace lienthong
