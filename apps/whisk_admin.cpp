// whisk-admin: operator verbs (namespaces and keys) over a whisk-node data dir. Composition
// only: the verbs, their options and exit codes live in libwhisk (whisk/admin.hpp).
#include <iostream>
#include <string>
#include <vector>

#include "whisk/admin.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return whisk::admin::run(args, std::cout, std::cerr);
}
