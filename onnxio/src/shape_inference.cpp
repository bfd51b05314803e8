#include "htp/onnxio/shape_inference.h"

#include "htp/onnxio/error.h"

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

namespace htp::onnxio {
namespace {

// The child's answer, one GraphProto: value_info and output as inference left the main graph's, and
// the propagated values as `input` entries whose tensor shape holds them.
std::string run_inference(onnx::ModelProto& model) {
  const onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/0, /*data_propagation=*/true);
  ShapeValues values;
  onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options, &values);
  onnx::GraphProto answer;  // the model is this child's own copy: moved, not copied
  answer.mutable_value_info()->Swap(model.mutable_graph()->mutable_value_info());
  answer.mutable_output()->Swap(model.mutable_graph()->mutable_output());
  for (auto& [name, shape] : values) {
    onnx::ValueInfoProto& value = *answer.add_input();
    value.set_name(name);
    *value.mutable_type()->mutable_tensor_type()->mutable_shape() = std::move(shape);
  }
  return answer.SerializeAsString();
}

[[noreturn]] void answer_and_exit(int fd, onnx::ModelProto& model) {
  // A crash here is the parent's to report; the crash handlers inherited from it (a fuzzer's,
  // a sanitizer's) would report it as their own.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(signal, &default_action, nullptr);
  int status = 0;
  std::string bytes;
  try {
    bytes = run_inference(model);
  } catch (const std::exception& e) {
    bytes = e.what();
    status = 2;
  }
  for (size_t written = 0; written < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(3);
    written += size_t(n);
  }
  ::_exit(status);  // no atexit handlers or static destructors: they belong to the parent
}

std::string read_all(int fd) {
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return bytes;
    bytes.append(buffer, size_t(n));
  }
}

}  // namespace

ShapeValues infer_shapes(onnx::ModelProto& model) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw Error(std::string("cannot run ONNX shape inference: ") + std::strerror(errno));
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw Error(std::string("cannot run ONNX shape inference: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::close(pipe_fds[0]);
    answer_and_exit(pipe_fds[1], model);
  }
  ::close(pipe_fds[1]);
  const std::string bytes = read_all(pipe_fds[0]);
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    throw Error(std::string("ONNX shape inference crashed on the model (") + strsignal(WTERMSIG(status)) + ")");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string reason = WIFEXITED(status) && WEXITSTATUS(status) == 2 ? bytes : "it ended early";
    throw Error("ONNX shape inference failed: " + reason.substr(0, reason.find('\n')));
  }
  onnx::GraphProto answer;
  if (!answer.ParseFromString(bytes)) throw Error("ONNX shape inference returned an unreadable answer");
  model.mutable_graph()->mutable_value_info()->Swap(answer.mutable_value_info());
  model.mutable_graph()->mutable_output()->Swap(answer.mutable_output());
  ShapeValues values;
  for (const auto& value : answer.input()) values.emplace(value.name(), value.type().tensor_type().shape());
  return values;
}

}  // namespace htp::onnxio
