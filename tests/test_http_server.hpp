#pragma once
// A small HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for the fetch tests: a thread per
// connection, plain sockets, each path a behaviour, friendly or hostile:
//   /json               {"hello":"world"}
//   /echo               the request's method, headers and body as JSON
//   /slow/<ms>          answers {"slept":<ms>} after <ms> milliseconds
//   /redirect/<n>       302 to /redirect/<n-1>; /redirect/0 answers {"redirects":"done"}
//   /loop               302 to itself, forever
//   /to/<url>           302 to <url>
//   /big/<bytes>        a body of <bytes> 'x'
//   /huge-headers       a 1 MB header
//   /never              reads the request, never answers
//   /endless            a chunked body that never ends
//   /trickle            headers, then one byte every 50 ms, never finishing
// stop() (and the destructor) ends every connection and joins the threads.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace whisk::test {

class http_test_server {
public:
  http_test_server();
  ~http_test_server();
  http_test_server(const http_test_server&) = delete;
  http_test_server& operator=(const http_test_server&) = delete;
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  void stop();
  std::int64_t requests() const { return requests_; }
  std::int64_t open_connections() const { return open_; }
  // Connections whose client went away before the server was done with them.
  std::int64_t abandoned() const { return abandoned_; }

private:
  void serve(int fd);
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> requests_{0}, open_{0}, abandoned_{0};
  std::mutex mx_;
  std::vector<std::thread> threads_;
  std::vector<int> fds_;
  std::thread acceptor_;
};

} // namespace whisk::test
