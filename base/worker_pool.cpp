#include "base/worker_pool.hpp"

#include "base/thread_name.hpp"

namespace lienthong {

WorkerPool::WorkerPool(std::size_t threads, std::string name) {
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, name] {
      name_this_thread(name.c_str());
      work();
    });
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::run_job() {
  for (std::size_t i; (i = next_++) < count_;) (*job_)(i);
}

void WorkerPool::work() {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || (job_ && generation_ != seen); });
      if (stopping_) return;
      seen = generation_;
      ++busy_;
    }
    run_job();
    std::lock_guard lock(mutex_);
    if (--busy_ == 0) finished_.notify_all();
  }
}

void WorkerPool::for_each(std::size_t count, const std::function<void(std::size_t)>& f) {
  std::lock_guard turn(caller_);
  {
    std::lock_guard lock(mutex_);
    job_ = &f;
    count_ = count;
    next_ = 0;
    ++generation_;
  }
  // As many helpers as there is work for besides the caller's share: waking them all for two
  // items sent most back to sleep with nothing done.
  for (std::size_t i = 1; i < count && i <= threads_.size(); ++i) wake_.notify_one();
  run_job();
  std::unique_lock lock(mutex_);
  // Helpers that joined may still be inside f; the job is over once none is.
  finished_.wait(lock, [&] { return busy_ == 0; });
  job_ = nullptr;
}

}  // namespace lienthong
