#include "allocation_cap.h"

#include "htp/onnxio/error.h"

#include <c10/core/CPUAllocator.h>

#include <string>

namespace htp::optimizer {
namespace {

thread_local int64_t t_max_bytes = -1;  // -1: no cap

// Forwards to the allocator it replaced, refusing what is above the calling thread's cap; the
// memory it hands out is the wrapped allocator's, freed by that allocator's deleter.
class CappedAllocator final : public c10::Allocator {
 public:
  explicit CappedAllocator(c10::Allocator* wrapped) : wrapped_(wrapped) {}

  c10::DataPtr allocate(size_t bytes) const override {
    if (t_max_bytes >= 0 && bytes > static_cast<uint64_t>(t_max_bytes)) {
      throw Error("a tensor of " + std::to_string(bytes) + " bytes exceeds the cap of " + std::to_string(t_max_bytes) + " bytes");
    }
    return wrapped_->allocate(bytes);
  }
  c10::DeleterFnPtr raw_deleter() const override { return wrapped_->raw_deleter(); }

 private:
  c10::Allocator* wrapped_;
};

void install_capped_allocator() {
  static const bool installed = [] {
    static CappedAllocator allocator(c10::GetCPUAllocator());
    c10::SetCPUAllocator(&allocator);
    return true;
  }();
  (void)installed;
}

}  // namespace

AllocationCap::AllocationCap(int64_t max_bytes) : previous_(t_max_bytes) {
  install_capped_allocator();
  t_max_bytes = max_bytes;
}

AllocationCap::~AllocationCap() { t_max_bytes = previous_; }

}  // namespace htp::optimizer
