// Factories of the optimizer passes, one per file in this directory. The order they run in is the
// canonical list in pass_manager.cpp.
#pragma once

#include "pass.h"

#include <cstdint>
#include <memory>

namespace htp::optimizer {

std::unique_ptr<Pass> make_eliminate_identity();
std::unique_ptr<Pass> make_eliminate_dead_nodes();
std::unique_ptr<Pass> make_eliminate_unused_initializers();
std::unique_ptr<Pass> make_deduplicate_initializers();
std::unique_ptr<Pass> make_fold_static_shapes();
// `fold_limit`: the largest tensor in bytes it materializes (OptimizeOptions::fold_limit).
std::unique_ptr<Pass> make_fold_constants(int64_t fold_limit);
std::unique_ptr<Pass> make_eliminate_common_subexpressions();
std::unique_ptr<Pass> make_fold_reshape_copied_dims();
std::unique_ptr<Pass> make_cancel_transposes();
std::unique_ptr<Pass> make_merge_reshape_chains();
std::unique_ptr<Pass> make_fold_weight_transpose();
std::unique_ptr<Pass> make_fuse_conv_batch_norm();
std::unique_ptr<Pass> make_fuse_conv_add_mul();
std::unique_ptr<Pass> make_fuse_matmul_add();
std::unique_ptr<Pass> make_fuse_layer_norm();
std::unique_ptr<Pass> make_fuse_gelu();

}  // namespace htp::optimizer
