#include <cstring>

#include "workflows/runtime.hpp"

namespace lienthong {
namespace {

constexpr std::uint8_t kFormat = 1;

class Writer {
 public:
  void u(std::uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void i(std::int64_t v) {
    u((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void s(const std::string& v) {
    u(v.size());
    out_ += v;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }
  std::uint64_t u() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      auto b = static_cast<std::uint8_t>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  std::int64_t i() {
    std::uint64_t v = u();
    return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  std::uint32_t u32() {
    std::uint64_t v = u();
    if (v > UINT32_MAX) fail();
    return static_cast<std::uint32_t>(v);
  }
  std::string s() {
    std::uint64_t n = u();
    if (!ok_ || n > in_.size() - pos_) {
      fail();
      return {};
    }
    std::string v(in_.substr(pos_, n));
    pos_ += n;
    return v;
  }
  // A count of items that each take at least one byte: bounded by what is left.
  std::size_t count() {
    std::uint64_t n = u();
    if (n > in_.size() - pos_) {
      fail();
      return 0;
    }
    return static_cast<std::size_t>(n);
  }

 private:
  std::uint64_t fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string serialize(const InstanceState& st) {
  Writer w;
  w.u(kFormat);
  w.s(st.workflow_id);
  w.i(st.version);
  w.s(st.owner);
  const DocumentFacts& d = st.document;
  w.s(d.type);
  w.i(d.priority);
  w.s(d.sender);
  w.u(d.recipients.size());
  for (const auto& r : d.recipients) w.s(r);
  w.u(d.due_date ? 1 : 0);
  if (d.due_date) {
    w.i(d.due_date->year);
    w.u(static_cast<std::uint64_t>(d.due_date->month));
    w.u(static_cast<std::uint64_t>(d.due_date->day));
  }
  w.i(d.attachment_count);
  w.i(d.steering_type);
  w.u(d.meta.size());
  for (const auto& [k, v] : d.meta) {
    w.s(k);
    w.s(v);
  }
  w.i(st.started);
  w.u(st.finished ? 1 : 0);
  w.s(st.final_status);
  w.u(st.tokens.size());
  for (const auto& t : st.tokens) {
    w.u(t.id);
    w.u(t.step);
    w.u(t.frame);
    w.s(t.recipient);
    w.s(t.agency);
    w.i(t.entered);
    w.u(t.due ? 1 : 0);
    if (t.due) w.i(*t.due);
  }
  w.u(st.frames.size());
  for (const auto& f : st.frames) {
    w.u(f.id);
    w.u(f.step);
    w.u(f.parent_frame);
    w.s(f.recipient);
    w.u(f.total);
    w.u(f.completed);
    w.u(f.ended);
    w.u(f.branch_recipients.size());
    for (const auto& r : f.branch_recipients) w.s(r);
  }
  w.u(st.timers.size());
  for (const auto& t : st.timers) {
    w.u(t.id);
    w.u(t.token);
    w.u(t.index);
    w.i(t.at);
  }
  w.u(st.outcomes.size());
  for (const auto& [step, outcome] : st.outcomes) {
    w.u(step);
    w.s(outcome);
  }
  w.u(st.next_id);
  return w.take();
}

Expected<InstanceState> deserialize(std::string_view bytes) {
  Reader r(bytes);
  if (r.u() != kFormat) {
    return Error{"workflow.state", "unknown instance state format"};
  }
  InstanceState st;
  st.workflow_id = r.s();
  st.version = static_cast<int>(r.i());
  st.owner = r.s();
  DocumentFacts& d = st.document;
  d.type = r.s();
  d.priority = r.i();
  d.sender = r.s();
  for (std::size_t n = r.count(); n-- && r.ok();) d.recipients.push_back(r.s());
  if (r.u() == 1) {
    CivilDate date;
    date.year = static_cast<int>(r.i());
    date.month = static_cast<int>(r.u());
    date.day = static_cast<int>(r.u());
    d.due_date = date;
  }
  d.attachment_count = r.i();
  d.steering_type = r.i();
  for (std::size_t n = r.count(); n-- && r.ok();) {
    std::string k = r.s();
    d.meta.emplace_back(std::move(k), r.s());
  }
  st.started = r.i();
  st.finished = r.u() == 1;
  st.final_status = r.s();
  for (std::size_t n = r.count(); n-- && r.ok();) {
    Token t;
    t.id = r.u32();
    t.step = r.u32();
    t.frame = r.u32();
    t.recipient = r.s();
    t.agency = r.s();
    t.entered = r.i();
    if (r.u() == 1) t.due = r.i();
    st.tokens.push_back(std::move(t));
  }
  for (std::size_t n = r.count(); n-- && r.ok();) {
    JoinFrame f;
    f.id = r.u32();
    f.step = r.u32();
    f.parent_frame = r.u32();
    f.recipient = r.s();
    f.total = r.u32();
    f.completed = r.u32();
    f.ended = r.u32();
    for (std::size_t k = r.count(); k-- && r.ok();) f.branch_recipients.push_back(r.s());
    st.frames.push_back(std::move(f));
  }
  for (std::size_t n = r.count(); n-- && r.ok();) {
    TimerState t;
    t.id = r.u32();
    t.token = r.u32();
    t.index = r.u32();
    t.at = r.i();
    st.timers.push_back(t);
  }
  for (std::size_t n = r.count(); n-- && r.ok();) {
    std::uint32_t step = r.u32();
    st.outcomes.emplace_back(step, r.s());
  }
  st.next_id = r.u32();
  if (!r.ok() || !r.done())
    return Error{"workflow.state", "instance state is truncated or corrupt"};
  return st;
}

}  // namespace lienthong
