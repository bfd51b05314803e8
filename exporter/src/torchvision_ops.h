// torchvision's detection operators (torchvision::nms, torchvision::roi_align), registered in this
// process so that archives of torchvision detection models load and run without torchvision's
// own library. The kernels follow torchvision's CPU reference semantics.
#pragma once

namespace htp::exporter {

// Registers the schemas and CPU kernels once; safe to call repeatedly.
void register_torchvision_ops();

}  // namespace htp::exporter
