// The runtime manifest: what a user writes to add kinds served by the http backend.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "whisk/container/runtime_manifest.hpp"
#include "whisk/domain.hpp"

using namespace whisk;
using namespace whisk::container;
namespace fs = std::filesystem;

namespace {

std::string error_of(std::string_view text) {
  auto m = parse_runtime_manifest(text);
  return m ? std::string("(parsed)") : m.err().message;
}

// A family "<family>" with one runtime whose fields are `fields` (JSON members, no braces).
std::string one(const std::string& fields, const std::string& family = "py") {
  return R"({"runtimes": {")" + family + R"(": [{)" + fields + "}]}}";
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    char tmpl[] = "/var/tmp/whisk-manifest-test.XXXXXX"; // not /tmp: the sandbox covers it
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { fs::remove_all(path); }
};

} // namespace

TEST_CASE("manifest: a full runtime entry is read field by field") {
  auto m = parse_runtime_manifest(R"({"runtimes": {"py": [
    {"kind": "py:3.11", "default": true, "protocol": "http", "command": ["/usr/bin/python3", "-u", "/rt/proxy.py"],
     "root": "/srv/rootfs", "mounts": [{"source": "/opt/rt", "target": "/rt"}], "workdir": "/rt",
     "env": {"A": "1", "B": "two"}, "port": 9000, "sentinels": false,
     "stemCells": [{"initialCount": 2, "memory": "256 MB"}, {"count": 1, "memory": 128}],
     "image": {"name": "ignored: whisk runs no images"}}]}})");
  REQUIRE(m);
  REQUIRE(m->runtimes.size() == 1);
  auto& r = m->runtimes[0];
  CHECK(r.kind == "py:3.11");
  CHECK(r.family == "py");
  CHECK(r.is_default);
  CHECK(r.command == std::vector<std::string>{"/usr/bin/python3", "-u", "/rt/proxy.py"});
  CHECK(r.root == "/srv/rootfs");
  REQUIRE(r.mounts.size() == 1);
  CHECK(r.mounts[0].source == "/opt/rt");
  CHECK(r.mounts[0].target == "/rt");
  CHECK(r.workdir == "/rt");
  CHECK(r.env == std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"B", "two"}});
  CHECK(r.port == 9000);
  CHECK_FALSE(r.sentinels);
  REQUIRE(r.stem_cells.size() == 2);
  CHECK(r.stem_cells[0].count == 2);
  CHECK(r.stem_cells[0].memory_mb == 256);
  CHECK(r.stem_cells[1].memory_mb == 128);
  CHECK(m->stem_cells_option() == "py:3.11:256:2,py:3.11:128:1");
  CHECK(m->default_aliases() == std::vector<std::pair<std::string, std::string>>{{"py:default", "py:3.11"}});
  CHECK(m->find("py:3.11") == &r);
  CHECK(m->find("py:3.12") == nullptr);
}

TEST_CASE("manifest: the defaults of an entry follow OpenWhisk's protocol") {
  auto m = parse_runtime_manifest(one(R"("kind": "py:1", "command": ["/usr/bin/python3"])"));
  REQUIRE(m);
  auto& r = m->runtimes[0];
  CHECK(r.port == 8080);
  CHECK(r.sentinels);
  CHECK(r.workdir == "/tmp");
  CHECK(r.root.empty());
  CHECK_FALSE(r.is_default);
  CHECK(m->stem_cells_option().empty());
  CHECK(m->default_aliases().empty());
}

TEST_CASE("manifest: shapes that are refused say where and why") {
  CHECK(error_of("not json").find("not JSON") != std::string::npos);
  CHECK(error_of(R"({"kinds": {}})").find("expected {\"runtimes\"") != std::string::npos);
  CHECK(error_of(R"({"runtimes": {}})").find("no runtime is listed") != std::string::npos);
  CHECK(error_of(R"({"runtimes": {"py": {}}})").find("a family is an array") != std::string::npos);
  CHECK(error_of(R"({"runtimes": {"p y": []}})").find("is not a family name") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1")")).find("\"command\" must be a non-empty array") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": [])")).find("\"command\" must be") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x", 3])")).find("\"command\" must be") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["python3"])")).find("command[0] must be an absolute path") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/usr/../bin/x"])")).find("command[0] must be") != std::string::npos);
  CHECK(error_of(one(R"("kind": "node:1", "command": ["/bin/x"])")).find("\"kind\" must be 'py:<version>'") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py", "command": ["/bin/x"])")).find("\"kind\" must be") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:a b", "command": ["/bin/x"])")).find("\"kind\" must be") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:default", "command": ["/bin/x"])")).find("is made by \"default\": true") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "protocol": "action-loop")")).find("\"protocol\" must be \"http\"") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "port": 0)")).find("\"port\" must be 1..65535") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "port": 70000)")).find("\"port\"") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "env": {"A=B": "1"})")).find("\"env\": 'A=B'") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "env": {"A": 1})")).find("\"env\": 'A'") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "mounts": [{"source": "rel", "target": "/rt"}])")).find("each mount needs") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "root": "rootfs")")).find("\"root\" must be an absolute") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "workdir": "rt")")).find("\"workdir\"") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "stemCells": [{"memory": "256 MB"}])")).find("\"initialCount\" of 0..64") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "stemCells": [{"initialCount": 1, "memory": "2 GB"}])")).find("\"memory\" must be") != std::string::npos);
  CHECK(error_of(one(R"("kind": "py:1", "command": ["/bin/x"], "stemCells": [{"initialCount": 1, "memory": 64}])")).find("\"memory\" must be") != std::string::npos);
  CHECK(error_of(R"({"runtimes": {"py": [{"kind": "py:1", "command": ["/bin/x"]}, {"kind": "py:1", "command": ["/bin/y"]}]}})")
            .find("listed twice") != std::string::npos);
  CHECK(error_of(R"({"runtimes": {"py": [{"kind": "py:1", "default": true, "command": ["/bin/x"]}, {"kind": "py:2", "default": true, "command": ["/bin/y"]}]}})")
            .find("at most one kind") != std::string::npos);
}

TEST_CASE("manifest: files are checked on the host through the mounts and the root") {
  temp_dir d;
  fs::create_directories(d.path / "rt");
  fs::create_directories(d.path / "rootfs/usr/bin");
  auto exe = [](const fs::path& p) {
    std::ofstream(p) << "#!/bin/sh\n";
    fs::permissions(p, fs::perms::owner_all);
  };
  exe(d.path / "rt/proxy");
  exe(d.path / "rootfs/usr/bin/tool");
  std::ofstream(d.path / "rt/data") << "not executable";

  manifest_runtime r;
  r.kind = "py:1";
  r.command = {"/rt/proxy"};
  r.mounts = {{(d.path / "rt").string(), "/rt"}};
  CHECK(check_runtime_files(r));
  r.command = {"/rt/data"};
  CHECK_FALSE(check_runtime_files(r));
  r.command = {"/rt/missing"};
  auto missing = check_runtime_files(r);
  REQUIRE_FALSE(missing);
  CHECK(missing.err().message.find((d.path / "rt/missing").string()) != std::string::npos);
  r.command = {"/usr/bin/tool"}; // not on this host's /usr: only in the root directory
  CHECK_FALSE(check_runtime_files(r));
  r.root = (d.path / "rootfs").string();
  CHECK(check_runtime_files(r));
  r.mounts = {{(d.path / "nowhere").string(), "/rt"}};
  CHECK(check_runtime_files(r).err().message.find("is not a directory") != std::string::npos);
  r.mounts = {{"/tmp", "/rt"}};
  CHECK(check_runtime_files(r).err().message.find("lies under /tmp") != std::string::npos);
  r.mounts.clear();
  r.root = "/tmp";
  CHECK(check_runtime_files(r).err().message.find("lies under /tmp") != std::string::npos);

  std::ofstream(d.path / "m.json") << one(R"("kind": "py:1", "command": ["/rt/proxy"], "mounts": [{"source": ")" +
                                          (d.path / "rt").string() + R"(", "target": "/rt"}])");
  CHECK(load_runtime_manifest((d.path / "m.json").string()));
  CHECK(load_runtime_manifest((d.path / "absent.json").string()).err().message.find("cannot read") != std::string::npos);
}

TEST_CASE("manifest: its kinds and family defaults become known to action validation") {
  auto m = parse_runtime_manifest(R"({"runtimes": {"utest": [
    {"kind": "utest:1", "command": ["/bin/x"]}, {"kind": "utest:2", "default": true, "command": ["/bin/y"]}]}})");
  REQUIRE(m);
  CHECK_FALSE(is_known_kind("utest:1"));
  REQUIRE(register_manifest_kinds(*m));
  CHECK(is_known_kind("utest:1"));
  CHECK(is_known_kind("utest:default"));
  CHECK(canonical_kind("utest:default") == "utest:2");
  CHECK(canonical_kind("nodejs:default") == "nodejs:20");
  auto body = json::parse(R"({"exec":{"kind":"utest:default","code":"x"}})");
  auto a = action_from_json(*body, "guest", "u");
  REQUIRE(a);
  CHECK(a->exec.kind == "utest:2");
  // a second registration of the same kinds, or of a built-in kind, is refused
  CHECK_FALSE(register_manifest_kinds(*m));
  auto builtin = parse_runtime_manifest(one(R"("kind": "python:3", "command": ["/usr/bin/python3"])", "python"));
  REQUIRE(builtin);
  CHECK(register_manifest_kinds(*builtin).err().message.find("already known") != std::string::npos);
  auto family = parse_runtime_manifest(one(R"("kind": "nodejs:99", "default": true, "command": ["/bin/node"])", "nodejs"));
  REQUIRE(family);
  CHECK(register_manifest_kinds(*family).err().message.find("nodejs:default") != std::string::npos);
  CHECK(canonical_kind("nodejs:default") == "nodejs:20");
}
