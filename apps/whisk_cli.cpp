// whisk: the command-line client (wsk's verbs and flags over OpenWhisk's REST API).
// The verbs live in apps/cli; this file only hands them argv and the standard streams.
#include <csignal>
#include <iostream>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN); // `whisk ... | head` must end with a write error, not a signal
  return whisk::cli::run(argc, argv, std::cout, std::cerr);
}
