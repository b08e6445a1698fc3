#pragma once
// What every whisk binary's main does: block SIGINT/SIGTERM before any thread starts (they
// are taken by sigwait), parse the options (exit 2 on a bad one, 0 after --help), start
// the actor system and hand over to the role.
#include <caf/all.hpp>
#include <csignal>
#include <iostream>

namespace whisk {

template <class Config, class Run>
int app_main(int argc, char** argv, const char* name, Run run) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  Config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << name << ": " << caf::to_string(err) << " (see --help)\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  caf::actor_system sys{cfg};
  return run(sys, cfg, signals);
}

} // namespace whisk
