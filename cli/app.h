// What both executables behind `htp-export` share. The front executable `htp-export` links only the
// torch-free libraries and runs tag, extract, partition of a file, report, and profile with a trace
// itself, so they start without loading LibTorch's 288 shared libraries; every other command line it
// hands, unchanged, to the full executable `htp-export-torch` (next to it in the build tree, in
// ../libexec/htp-export/ when installed) by exec, keeping its process id.
#pragma once

#include "commands.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace htp::cli {

// The top-level app with its description, --version, the tag-key footer and -q/-v.
struct TopLevel {
  CLI::App app{"htp-export: export LibTorch models to ONNX with the PyTorch module hierarchy on every node"};
  bool quiet = false;
  bool verbose = false;
  TopLevel();
};

// Parses argv, then runs the parsed subcommand or, when none was given, `no_subcommand`. Usage
// errors end in one "htp-export: error: ... (see --help)" line and exit 2, any other exception in
// one "htp-export: error: ..." line and exit 1.
int run_top_level(TopLevel& top, const std::vector<Command>& commands, const std::function<int()>& no_subcommand, int argc,
                  char** argv);

// Keeps the command line for run_full_executable; call first in main.
void remember_command_line(int argc, char** argv);

// True when the command line names one of the front executable's subcommands, or --version (after -q/-v).
// Those of them that need ATen for some options (partition --model, profile without a trace) call
// run_full_executable after parsing.
bool front_runs(int argc, char** argv);

// Replaces this process with the full executable on the remembered command line. Throws htp::Error
// when it is missing or cannot run.
[[noreturn]] void run_full_executable();

}  // namespace htp::cli
