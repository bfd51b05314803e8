// A per-thread ceiling on ATen CPU allocations, so an evaluation that would materialize a tensor
// above it (an output or a temporary) fails before taking the memory. Includes no ATen.
#pragma once

#include <cstdint>

namespace htp::optimizer {

// While alive, an ATen CPU allocation of more than `max_bytes` on this thread throws htp::Error
// instead of allocating. Nests: the innermost cap applies.
class AllocationCap {
 public:
  explicit AllocationCap(int64_t max_bytes);
  ~AllocationCap();
  AllocationCap(const AllocationCap&) = delete;
  AllocationCap& operator=(const AllocationCap&) = delete;

 private:
  int64_t previous_;
};

}  // namespace htp::optimizer
