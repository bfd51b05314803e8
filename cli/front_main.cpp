// htp-export, the command on PATH: runs the torch-free subcommands itself and every other command
// line in htp-export-torch (app.h).
#include "app.h"
#include "commands.h"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
  htp::cli::remember_command_line(argc, argv);
  if (!htp::cli::front_runs(argc, argv)) {
    try {
      htp::cli::run_full_executable();
    } catch (const std::exception& e) {
      std::cerr << "htp-export: error: " << e.what() << "\n";
      return 1;
    }
  }
  htp::cli::TopLevel top;
  const std::vector<htp::cli::Command> commands = {htp::cli::add_extract_command(top.app),
                                                   htp::cli::add_partition_command(top.app, std::nullopt),
                                                   htp::cli::add_profile_command(top.app, std::nullopt),
                                                   htp::cli::add_report_command(top.app),
                                                   htp::cli::add_tag_command(top.app)};
  return htp::cli::run_top_level(top, commands, [] { return 0; }, argc, argv);
}
