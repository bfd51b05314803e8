#include "app.h"

#include "htp/onnxio/error.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>

namespace htp::cli {
namespace {

std::vector<char*> command_line;

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::filesystem::path full_executable_path() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) throw Error("cannot locate htp-export's own executable: " + error.message());
  const std::filesystem::path dir = self.parent_path();
  for (const auto& candidate : {dir / "htp-export-torch", dir / ".." / "libexec" / "htp-export" / "htp-export-torch"}) {
    if (std::filesystem::is_regular_file(candidate, error)) return candidate;
  }
  throw Error("htp-export-torch, which runs the commands that need LibTorch, is neither in " +
              dir.string() + " nor in " + (dir / ".." / "libexec" / "htp-export").lexically_normal().string() +
              ": the installation is incomplete");
}

// LibTorch's OpenMP threads spin at each op's closing barrier by default. While another process
// holds a core, the spinning threads and a preempted one wait on each other at every op: forward
// passes of 2-core exports took 2-3 times as long (docs/benchmarks.md, issue 18 part 2). Passive
// threads sleep instead. An OMP_WAIT_POLICY the user set stands.
void let_openmp_threads_sleep() { ::setenv("OMP_WAIT_POLICY", "passive", /*overwrite=*/0); }

}  // namespace

TopLevel::TopLevel() {
  auto logger = spdlog::stderr_color_mt("htp");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");
  app.set_version_flag("--version", HTP_VERSION);
  app.footer(
      "Every node of a written file carries metadata_props: htp.scope (module path, as in named_modules()), htp.tag\n"
      "(class path, e.g. /ResNet/Sequential[layer1]/Bottleneck.0/Conv2d[conv1]), htp.source (direct, inherited or\n"
      "fallback), namespace (\"layer1: Sequential/layer1.0: Bottleneck/...\", one Model Explorer layer per module), and\n"
      "torch.onnx's dynamo keys pkg.torch.onnx.name_scopes / class_hierarchy (repr() of the module paths and classes on\n"
      "the call stack, then the node). The model carries htp.modules (scope -> class, parent) and htp.version.");
  app.add_flag("-q,--quiet", quiet, "log warnings and errors only");
  app.add_flag("-v,--verbose", verbose, "log the time of every stage");
  app.require_subcommand(0, 1);
  app.fallthrough();  // -q, -v after a subcommand name
}

int run_top_level(TopLevel& top, const std::vector<Command>& commands, const std::function<int()>& no_subcommand, int argc,
                  char** argv) {
  try {
    top.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return top.app.exit(e);  // --help, --version
    std::cerr << "htp-export: error: " << first_line(e.what()) << " (see --help)\n";
    return 2;  // a usage error, whatever CLI11's own code for its kind
  }
  if (top.quiet) spdlog::set_level(spdlog::level::warn);
  if (top.verbose) spdlog::set_level(spdlog::level::debug);
  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
    return no_subcommand();
  } catch (const std::exception& e) {
    std::cerr << "htp-export: error: " << first_line(e.what()) << "\n";
    return 1;
  }
}

std::map<std::string, int64_t> parse_dims(const std::vector<std::string>& entries, const std::string& option) {
  std::map<std::string, int64_t> dims;
  for (const auto& entry : entries) {
    const size_t equals = entry.find('=');
    const std::string value = equals == std::string::npos ? "" : entry.substr(equals + 1);
    const bool digits = !value.empty() && value.size() <= 18 && value.find_first_not_of("0123456789") == std::string::npos;
    if (equals == 0 || !digits || std::stoll(value) <= 0) {
      throw Error("invalid " + option + " entry '" + entry + "': expected NAME=POSITIVE integer, e.g. batch=2");
    }
    dims[entry.substr(0, equals)] = std::stoll(value);
  }
  return dims;
}

void remember_command_line(int argc, char** argv) { command_line.assign(argv, argv + argc + 1); }

bool front_runs(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-q" || arg == "--quiet" || arg == "-v" || arg == "--verbose") continue;
    return arg == "tag" || arg == "extract" || arg == "partition" || arg == "profile" || arg == "report" || arg == "--version";
  }
  return false;
}

void run_full_executable() {
  const std::filesystem::path path = full_executable_path();
  std::cout.flush();
  let_openmp_threads_sleep();
  execv(path.c_str(), command_line.data());
  throw Error("cannot run " + path.string() + ": " + std::strerror(errno));
}

}  // namespace htp::cli
